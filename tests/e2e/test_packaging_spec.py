"""What the PyInstaller bundle collects, checked without building it (`make smoke` runs the real one).

A module, asset or library missing from these lists is missing from the bundle a user downloads:
the window cannot find its icons, a command disappears, or llama.cpp fails to load.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import bundle_contents  # noqa: E402


def test_every_own_module_is_collected_including_cli_commands_and_the_worker() -> None:
    modules = set(bundle_contents.hiddenimports())
    commands = {f"app.cli.{p.stem}" for p in (ROOT / "app" / "cli").glob("*.py") if p.stem != "__init__"}
    assert commands and commands <= modules  # found by pkgutil at run time: invisible to import analysis
    assert "backend.engine.worker" in modules  # `tern --engine-worker` runs it from the bundle
    assert {"app.main", "app.selftest", "assets.icons"} <= modules


def test_every_asset_file_is_collected_at_its_package_path() -> None:
    datas = bundle_contents.asset_datas()
    collected = {Path(src).relative_to(ROOT).as_posix(): dest for src, dest in datas}
    on_disk = [
        p
        for p in (ROOT / "assets").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert on_disk
    for p in on_disk:
        rel = p.relative_to(ROOT).as_posix()
        assert rel in collected, f"{rel} would be missing from the bundle"
        assert collected[rel] == Path(rel).parent.as_posix()  # importlib.resources finds it there
    assert "assets/icons/tern.svg" in collected


def test_llama_libraries_include_what_libllama_links_and_drop_versioned_duplicates() -> None:
    binaries = bundle_contents.llama_binaries()
    names = {Path(src).name for src, _ in binaries}
    assert all(dest == "llama_cpp/lib" for _, dest in binaries)  # where llama_cpp looks for them
    if sys.platform.startswith("linux"):
        assert {"libllama.so", "libggml.so.0", "libggml-base.so.0"} <= names
        assert not [n for n in names if n.count(".") >= 3 and ".so." in n]  # e.g. libggml.so.0.25.3


def test_the_engine_manifest_goes_into_the_bundle_beside_llama_cpp() -> None:
    """Without llama_cpp/tern_engine.json the bundle's About box would claim a stock, unpatched engine."""
    (src, dest), = bundle_contents.engine_datas()
    assert dest == "llama_cpp" and Path(src).name == "tern_engine.json" and Path(src).is_file()


def test_portable_cpu_variants_are_kept_and_named(tmp_path: Path) -> None:
    if sys.platform == "win32":
        files = ["llama.dll", "ggml.dll", "ggml-base.dll", "ggml-cpu-x64.dll", "ggml-cpu-haswell.dll"]
    else:
        files = [
            "libllama.so",
            "libggml.so.0",
            "libggml-base.so.0",
            "libggml.so.0.25.3",
            "libggml-cpu-x64.so",
            "libggml-cpu-haswell.so",
            "libggml-cpu-skylakex.so",
        ]
    for name in files:
        (tmp_path / name).write_bytes(b"\0")
    binaries = bundle_contents.llama_binaries(tmp_path)
    variants = bundle_contents.cpu_variants(binaries)
    assert "x64" in variants and "haswell" in variants
    assert "libggml.so.0.25.3" not in {Path(s).name for s, _ in binaries}


def test_spec_uses_the_checked_lists_and_the_entry_point() -> None:
    spec = (ROOT / "packaging" / "tern.spec").read_text(encoding="utf-8")
    tree = ast.parse(spec)
    calls = {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "bundle_contents"
    }
    assert {"llama_binaries", "asset_datas", "engine_datas", "hiddenimports"} <= calls
    assert "bundle_contents.ENTRY" in spec and "bundle_identifier=APP_ID" in spec


def test_entry_point_runs_the_engine_worker(tmp_path: Path) -> None:
    """The bundle's executable doubles as its engine worker: the entry script must dispatch to it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(bundle_contents.ENTRY), "--engine-worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    try:
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert first["ev"] == "ready" and first["pid"] == proc.pid
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == 0


def test_release_workflow_builds_and_smoke_tests_every_platform() -> None:
    yaml = pytest.importorskip("yaml")
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))
    jobs = wf["jobs"]
    runners = {str(j.get("runs-on")) for j in jobs.values()}
    assert any("ubuntu" in r for r in runners) and any("windows" in r for r in runners)
    macos = jobs["macos"]["strategy"]["matrix"]["include"]
    assert {m["arch"] for m in macos} == {"arm64", "x86_64"}
    for name in ("linux", "macos", "windows"):
        steps = " ".join(str(s.get("run", "")) for s in jobs[name]["steps"])
        assert "smoke" in steps, f"the {name} job does not smoke-test its bundle"
        assert "tern.spec" in steps or "make -C packaging package" in steps
    # Every platform builds its portable engine with the same script and patch set as `make run`.
    for name in ("macos", "windows"):
        steps = " ".join(str(s.get("run", "")) for s in jobs[name]["steps"])
        assert "packaging/engine/build_wheel.py --portable" in steps, name
    packaging_make = (ROOT / "packaging" / "Makefile").read_text(encoding="utf-8")
    assert "engine/build_wheel.py --portable" in packaging_make
    build = (ROOT / "packaging" / "engine" / "build_wheel.py").read_text(encoding="utf-8")
    assert "-DGGML_CPU_ALL_VARIANTS=ON" in build
