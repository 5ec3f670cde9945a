from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFReader, quants

from backend.models.synth import SHAPES, make_model


def _weights(path: Path, name: str) -> np.ndarray:
    t = next(t for t in GGUFReader(path).tensors if t.name == name)
    return quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(-1)


def test_same_seed_same_ternary_weights_in_every_encoding(tiny_models: dict[str, Path]) -> None:
    for name in ("blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"):
        ref = _weights(tiny_models["f16"], name)
        for enc in ("tq2_0", "tq1_0"):
            assert np.array_equal(_weights(tiny_models[enc], name), ref), (enc, name)
    q = _weights(tiny_models["f16"], "blk.0.attn_q.weight")
    scale = np.abs(q).max()
    assert set(np.unique(q / scale)) == {-1.0, 0.0, 1.0}


def test_different_seed_different_weights(tmp_path: Path, tiny_models: dict[str, Path]) -> None:
    other = make_model(tmp_path / "other.gguf", "tiny", "f16", seed=8)
    assert not np.array_equal(_weights(other, "blk.0.attn_q.weight"),
                              _weights(tiny_models["f16"], "blk.0.attn_q.weight"))


def test_ternary_files_are_smaller_by_their_bits_per_weight(tiny_models: dict[str, Path]) -> None:
    shape = SHAPES["tiny"]
    sizes = {enc: p.stat().st_size for enc, p in tiny_models.items()}
    for enc in sizes:
        assert abs(sizes[enc] - shape.file_bytes(enc)) < 64 * 1024
    assert sizes["tq1_0"] < sizes["tq2_0"] < sizes["f16"]


def test_paper_shapes_fit_ternary_blocks() -> None:
    for shape in SHAPES.values():
        assert shape.n_embd % 256 == 0 and shape.n_ff % 256 == 0
    assert abs(SHAPES["700M"].n_params - 728e6) / 728e6 < 0.01


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "m.gguf"

    def stop(frac: float) -> None:
        if frac > 0.5:
            raise KeyboardInterrupt

    try:
        make_model(target, "tiny", "tq2_0", progress=stop)
    except KeyboardInterrupt:
        pass
    assert list(tmp_path.iterdir()) == []
