"""Derived variants hold exactly the same weights, record their provenance, and never half-exist."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFReader, quants

from backend.models.derive import DeriveCancelled, DeriveError, DeriveProgress, derive_variant
from backend.models.gguf_header import read_header
from backend.models.registry import Registry
from backend.paths import paths
from backend.store import Store


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    return Registry(Store(tern_home / "t.sqlite3"))


def weights(path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """Every tensor dequantized to float32 (with its encoding), as gguf-py reads it."""
    return {t.name: (t.tensor_type.name, quants.dequantize(t.data, t.tensor_type).reshape(-1))
            for t in GGUFReader(path).tensors}


def add(registry: Registry, path: Path, enc: str, tmp: Path, name: str = "tiny") -> Path:
    copy = tmp / path.name
    shutil.copyfile(path, copy)
    registry.add_variant(name, copy, enc, "imported")
    return copy


def test_f16_from_tq2_0_gives_back_exactly_the_ternary_weights(registry: Registry, tiny_models: dict[str, Path],
                                                               tmp_path: Path) -> None:
    src = add(registry, tiny_models["tq2_0"], "tq2_0", tmp_path)
    seen: list[DeriveProgress] = []
    v = derive_variant(registry, "tiny", "f16", progress=seen.append)
    assert v.encoding == "F16" and v.source == "derived" and v.path.parent == paths().models / "derived"
    a, b = weights(src), weights(v.path)
    assert a.keys() == b.keys()
    for name, (enc, values) in a.items():
        assert np.array_equal(values, b[name][1]), name
        if enc == "TQ2_0":
            assert b[name][0] == "F16"
    assert b["token_embd.weight"][0] == a["token_embd.weight"][0]  # embeddings keep their encoding
    # ...and it is the very F16 file the same seed makes directly
    direct = weights(tiny_models["f16"])
    assert all(np.array_equal(direct[k][1], b[k][1]) for k in direct)
    assert v.derived_from_path == str(src)
    assert v.derived_from_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert seen[0].phase == "hash" and seen[-1].phase == "done"


def test_tq2_0_to_tq1_0_keeps_the_embeddings_encoding(registry: Registry, tiny_models: dict[str, Path],
                                                      tmp_path: Path) -> None:
    src = add(registry, tiny_models["tq2_0"], "tq2_0", tmp_path)
    v = derive_variant(registry, "tiny", "tq1_0")
    a, b = weights(src), weights(v.path)
    assert {n: e for n, (e, _) in b.items() if e not in ("F32",)} == {
        n: ("TQ1_0" if e == "TQ2_0" else e) for n, (e, _) in a.items() if e not in ("F32",)}
    assert b["token_embd.weight"][0] == "F16"  # llama.cpp's default would have made it Q6_K
    assert all(np.array_equal(a[k][1], b[k][1]) for k in a)
    back = derive_variant(registry, f"tiny:{v.encoding}", "tq2_0")
    assert back.encoding == "TQ2_0" and back.path == src  # the model already has TQ2_0: that one is returned


def test_a_ternary_f16_becomes_tq2_0_losslessly(registry: Registry, tiny_models: dict[str, Path],
                                                tmp_path: Path) -> None:
    src = add(registry, tiny_models["f16"], "f16", tmp_path)
    v = derive_variant(registry, "tiny", "tq2_0")
    assert read_header(v.path).encoding == "TQ2_0"
    a, b = weights(src), weights(v.path)
    assert all(np.array_equal(a[k][1], b[k][1]) for k in a)


def test_a_non_ternary_f16_is_refused(registry: Registry, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    src = add(registry, tiny_models["f16"], "f16", tmp_path)
    q = next(t for t in read_header(src).tensors if t.name == "blk.0.attn_q.weight")
    start = read_header(src).data_start + q.offset
    data = bytearray(src.read_bytes())
    data[start:start + 512] = np.linspace(-1, 1, 256, dtype=np.float16).tobytes()  # one block, 256 values
    src.write_bytes(bytes(data))
    with pytest.raises(DeriveError, match="not ternary"):
        derive_variant(registry, "tiny", "tq2_0")
    assert [v.encoding for v in registry.find("tiny").variants] == ["F16"]  # type: ignore[union-attr]


def test_cancel_leaves_no_file_and_no_variant(registry: Registry, tiny_models: dict[str, Path],
                                              tmp_path: Path) -> None:
    add(registry, tiny_models["tq2_0"], "tq2_0", tmp_path)
    cancel = threading.Event()

    def progress(p: DeriveProgress) -> None:
        if p.phase == "convert":
            cancel.set()  # the child is running: cancel kills it

    with pytest.raises(DeriveCancelled):
        derive_variant(registry, "tiny", "f16", progress=progress, cancel=cancel)
    folder = paths().models / "derived"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert [v.encoding for v in registry.find("tiny").variants] == ["TQ2_0"]  # type: ignore[union-attr]


def test_a_llama_cpp_failure_is_reported_and_leaves_nothing(registry: Registry, tiny_models: dict[str, Path],
                                                            tmp_path: Path) -> None:
    src = add(registry, tiny_models["tq2_0"], "tq2_0", tmp_path)
    with open(src, "r+b") as f:  # cut the tensor data short after registering: llama.cpp cannot read it
        f.truncate(src.stat().st_size // 2)
    with pytest.raises(DeriveError, match="llama.cpp could not convert"):
        derive_variant(registry, "tiny", "f16")
    folder = paths().models / "derived"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert len(registry.find("tiny").variants) == 1  # type: ignore[union-attr]
