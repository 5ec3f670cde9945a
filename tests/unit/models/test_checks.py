"""Preflight: every bad model file gets one clear message naming the file and the reason."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from backend.errors import ModelFileError
from backend.models.checks import preflight
from tests.support import gguf_files


def expect(path: Path, code: str, words: str) -> ModelFileError:
    with pytest.raises(ModelFileError) as err:
        preflight(path)
    assert err.value.code == code
    assert str(path) in str(err.value)
    assert words in str(err.value)
    return err.value


def test_good_file_passes(tiny: Path) -> None:
    header, fit = preflight(tiny)
    assert header.encoding == "TQ2_0"
    assert fit.verdict == "fits"


def test_missing_file(tmp_path: Path) -> None:
    expect(tmp_path / "nope.gguf", "not_found", "does not exist")


def test_not_gguf(tmp_path: Path) -> None:
    p = tmp_path / "notes.gguf"
    p.write_text("just some text, not a model")
    expect(p, "not_gguf", "not a GGUF file")


def test_truncated_header(tiny: Path, tmp_path: Path) -> None:
    p = gguf_files.truncated_in_header(tiny, tmp_path / "cut-header.gguf")
    expect(p, "not_gguf", "truncated")


def test_truncated_data(tiny: Path, tmp_path: Path) -> None:
    p = gguf_files.truncated_in_data(tiny, tmp_path / "cut-data.gguf")
    err = expect(p, "truncated", "truncated")
    assert "download it again" in err.hint


def test_i2s_is_named(tiny: Path, tmp_path: Path) -> None:
    p = gguf_files.with_tensor_type(tiny, tmp_path / "i2s.gguf", 36)
    expect(p, "unsupported_type", "I2_S")


def test_unknown_tensor_type(tiny: Path, tmp_path: Path) -> None:
    p = gguf_files.with_tensor_type(tiny, tmp_path / "t99.gguf", 99)
    expect(p, "unsupported_type", "type 99")


def test_larger_than_ram(tiny: Path, tmp_path: Path) -> None:
    p = gguf_files.larger_than_ram(tiny, tmp_path / "huge.gguf", psutil.virtual_memory().total * 2)
    assert p.stat().st_size > psutil.virtual_memory().total
    err = expect(p, "too_big", "larger than the memory available")
    assert "GiB available now" in str(err)
