"""`make engine-check` (packaging/engine/engine_check.py): what it builds and when it calls a run a pass."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from tests.support.packaging_scripts import ROOT, load_script

CHECK = ROOT / "packaging" / "engine" / "engine_check.py"


@pytest.fixture()
def check_module(monkeypatch: pytest.MonkeyPatch):
    return load_script(monkeypatch, CHECK, "tern_engine_check")


def fake_test_backend_ops(tmp_path: Path, output: str, code: int = 0) -> Path:
    script = tmp_path / "test-backend-ops"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{output}\nEOF\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script as a stand-in binary")
def test_a_run_passes_only_if_ternary_cases_ran_and_all_passed(check_module, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    ok = "  26/26 tests passed\n  Backend CPU: OK\n  8/8 tests passed\n1/1 backends passed"
    assert check_module.run(fake_test_backend_ops(tmp_path, ok), "native")
    assert "34/34 passed" in capsys.readouterr().out

    # a filter that matches nothing must not read as a pass
    assert not check_module.run(fake_test_backend_ops(tmp_path, "  0/0 tests passed\n1/1 backends passed"), "native")
    assert "no ternary cases ran" in capsys.readouterr().out

    failing = ("[MUL_MAT] ERR = 0.12 > 0.0005   MUL_MAT(type_a=tq2_0,type_b=f32,m=16,n=1,k=256): FAIL\n"
               "  25/26 tests passed\n0/1 backends passed")
    assert not check_module.run(fake_test_backend_ops(tmp_path, failing, code=1), "native")
    assert "type_a=tq2_0" in capsys.readouterr().out  # the failing case is named


def test_variants_build_the_portable_bundles_code_paths(check_module) -> None:
    native = check_module.cmake_flags("native")
    assert "-DGGML_NATIVE=ON" in native and "-DLLAMA_BUILD_TESTS=ON" in native
    skx = check_module.cmake_flags("skylakex").split()
    assert "-DGGML_NATIVE=OFF" in skx and "-DGGML_AVX512=ON" in skx
    assert not any("VNNI" in f or "VBMI" in f for f in skx)  # the AVX-512 fallbacks without VNNI/VBMI
    assert "-DGGML_AVX512=ON" not in check_module.cmake_flags("haswell")
    assert "-DGGML_AVX512_VBMI=ON" in check_module.cmake_flags("zen4")
