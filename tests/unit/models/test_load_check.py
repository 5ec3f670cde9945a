"""Import loads a file once in a throwaway engine before registering it: llama.cpp has the last word."""

from __future__ import annotations

import struct
import threading
from pathlib import Path

import pytest

from backend.errors import ModelFileError
from backend.models.derive import DeriveCancelled
from backend.models.importer import load_check
from tests.support.gguf_fuzz import U32, read_layout, rebuild


def test_a_file_llama_cpp_loads_passes(tiny: Path) -> None:
    load_check(tiny)


def test_an_abort_in_llama_cpp_is_a_refusal_naming_the_file(tiny: Path, tmp_path: Path) -> None:
    """A key length that differs from the value length passes every header check and aborts llama.cpp's
    bitnet graph (GGML_ASSERT): the abort happens in the child, Tern carries on."""
    path = tmp_path / "key-length-32.gguf"
    path.write_bytes(rebuild(read_layout(tiny.read_bytes()), add=[("bitnet.attention.key_length", U32,
                                                                   struct.pack("<I", 32))]))
    with pytest.raises(ModelFileError) as err:
        load_check(path)
    assert err.value.code == "engine_refused"
    assert str(path) in str(err.value) and "SIGABRT" in str(err.value) and "GGML_ASSERT" in str(err.value)
    load_check(tiny)  # and the next check starts a fresh engine


def test_cancel_stops_the_check(tiny: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DeriveCancelled):
        load_check(tiny, cancel)


def test_imported_names_carry_no_escape_sequences(tiny: Path, tmp_path: Path) -> None:
    from backend.models.importer import import_model
    from backend.models.registry import Registry
    from backend.store import Store

    evil = tmp_path / "evil\x1b[2J\x1b]0;title\x07-model.gguf"
    evil.write_bytes(tiny.read_bytes())
    v = import_model(Registry(Store(tmp_path / "t.sqlite3")), evil)
    assert v.model_name and not any(ord(ch) < 0x20 for ch in v.model_name)
