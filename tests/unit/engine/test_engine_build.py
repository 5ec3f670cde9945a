"""Tern's engine build: the pinned llama-cpp-python with the patch set in packaging/engine/patches."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.engine.build_info import engine_manifest, engine_patches
from tests.support.packaging_scripts import ROOT, load_script

BUILD = ROOT / "packaging" / "engine" / "build_wheel.py"


@pytest.fixture()
def build_module(monkeypatch: pytest.MonkeyPatch):
    return load_script(monkeypatch, BUILD, "tern_engine_build")


def test_the_running_engine_carries_exactly_the_patch_set(build_module) -> None:
    """The engine the app and these tests use was built from the patches in the tree, byte for byte."""
    manifest = engine_manifest()
    assert manifest is not None, "llama_cpp has no tern_engine.json: a stock build, not Tern's (run make venv)"
    assert manifest["llama_cpp_python"] == build_module.VERSION
    assert manifest["sdist_sha256"] == build_module.SDIST_SHA256
    on_disk = {p.stem: build_module.sha256_file(p) for p in build_module.patch_files()}
    assert {p["name"]: p["sha256"] for p in manifest["patches"]} == on_disk
    assert "0001-bitnet-relu2-ffn" in engine_patches()


def test_every_patch_says_why_and_where(build_module) -> None:
    for p in build_module.patch_files():
        text = p.read_text(encoding="utf-8")
        assert build_module.patch_subject(p), f"{p.name} has no Subject: line"
        assert "Why:" in text and "Where:" in text and "Upstream:" in text, p.name


def test_a_patch_that_does_not_apply_stops_the_build_naming_it(build_module, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("patch") is None:
        pytest.fail("the engine build needs `patch` (Debian: build-essential brings it)")
    tree = tmp_path / "llama.cpp"
    (tree / "src" / "models").mkdir(parents=True)
    (tree / "src" / "models" / "bitnet.cpp").write_text("// upstream rewrote this file\n")
    with pytest.raises(build_module.BuildError) as err:
        build_module.apply_patches(tree)
    assert "0001-bitnet-relu2-ffn.patch does not apply" in str(err.value)
    assert (tree / "src" / "models" / "bitnet.cpp").read_text() == "// upstream rewrote this file\n"


def test_the_cache_key_follows_the_patches_and_flags(build_module, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = build_module.build_key("-DX=1")
    assert build_module.build_key("-DX=1") == base
    assert build_module.build_key("-DX=2") != base
    patches = tmp_path / "patches"
    shutil.copytree(build_module.PATCHES, patches)
    monkeypatch.setattr(build_module, "PATCHES", patches)
    assert build_module.build_key("-DX=1") == base
    first = sorted(patches.glob("*.patch"))[0]
    first.write_text(first.read_text() + "\n")
    assert build_module.build_key("-DX=1") != base


def test_the_ternary_verdict_names_the_kernels_that_run() -> None:
    from backend.engine.build_info import AVX512_TERNARY_PATCH, ternary_fast_path

    zen = ["SSE3", "AVX", "AVX2", "F16C", "FMA", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"]
    assert ternary_fast_path(zen, "x86_64", [AVX512_TERNARY_PATCH]) == (True, "yes (AVX-512, VNNI, VBMI)")
    assert ternary_fast_path(["AVX2", "AVX512"], "x86_64", [AVX512_TERNARY_PATCH]) == (True, "yes (AVX-512)")
    # a stock engine has only the AVX2 kernels, whatever the CPU
    assert ternary_fast_path(zen, "x86_64", []) == (True, "yes (AVX2)")
    assert ternary_fast_path(["SSE3", "AVX"], "x86_64", [AVX512_TERNARY_PATCH])[0] is False
    assert AVX512_TERNARY_PATCH in {p.stem for p in (ROOT / "packaging" / "engine" / "patches").glob("*.patch")}
