"""The bit layouts and number conventions the converter reads and writes, each against an independent
implementation (transformers' pack/unpack as the test helpers transcribe them, gguf-py's quantizers and reader)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, quants
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.models.convert import ConvertError, plan_output
from backend.models.convert.packing import encode_ternary, ternary_to_tq2, unpack_bitnet, unpack_i2s
from backend.models.convert.safetensors import parse_header, read_rows, to_float32
from backend.models.convert.scales import DIVIDE, MULTIPLY, absmean_ternarize, real_scale, ternary_rows
from backend.models.convert.writer import GGUFStream
from tests.support import i2s_files as I
from tests.support import reference as ref
from tests.support import ternary_repos as R

rng = np.random.default_rng(0)


class Bytes:
    """A ByteSource over bytes in memory (what an HTTP range reader provides)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads = data, 0

    def read_at(self, offset: int, size: int) -> bytes:
        self.reads += 1
        return self.data[offset : offset + size]


@pytest.mark.parametrize("out", [640, 10, 1])
def test_packed_weights_unpack_to_the_ternary_rows(out: int) -> None:
    t = rng.integers(-1, 2, size=(out, 256), dtype=np.int8)
    packed = R.pack_weights(t)
    assert packed.shape == ((out + 3) // 4, 256)
    assert np.array_equal(unpack_bitnet(packed, out), t)
    assert np.array_equal(ref.unpack_weights(packed)[:out], t)  # transformers' own loop agrees


def test_fast_tq2_encoding_equals_gguf_py() -> None:
    t = rng.integers(-1, 2, size=(8, 512), dtype=np.int8)
    assert np.array_equal(ternary_to_tq2(t), quants.quantize(t.astype(np.float32), GGMLQuantizationType.TQ2_0))
    zero = np.zeros((1, 256), dtype=np.int8)  # gguf-py gives an empty block scale 0, Tern 1.0: both decode to 0
    assert np.array_equal(quants.dequantize(ternary_to_tq2(zero), GGMLQuantizationType.TQ2_0), zero)
    tq1 = encode_ternary(t, GGMLQuantizationType.TQ1_0)
    assert np.array_equal(quants.dequantize(tq1, GGMLQuantizationType.TQ1_0), t)


def test_i2s_unpacks_codes_and_its_scale() -> None:
    t = rng.integers(-1, 2, size=(160, 512), dtype=np.int8)
    raw = I.pack_i2s(t, 0.0421)
    assert raw.nbytes == t.size // 4 + 32
    codes, scale = unpack_i2s(raw, t.shape)
    assert np.array_equal(codes, t) and scale == np.float32(0.0421)
    raw[0] = 0xFF  # code 3 does not exist
    with pytest.raises(ValueError, match="code 3"):
        unpack_i2s(raw, t.shape)


def test_scale_conventions() -> None:
    assert real_scale(0.25, MULTIPLY) == 0.25  # AutoBitLinear offline: W = t × weight_scale
    assert real_scale(4.0, DIVIDE) == 0.25  # BitLinear: W = t ÷ weight_scale
    with pytest.raises(ValueError):
        real_scale(0.0, DIVIDE)


def test_absmean_ternarization_is_transformers_weight_quant() -> None:
    w = (0.02 * rng.standard_normal((64, 256))).astype(np.float32)
    tw = absmean_ternarize(w)
    assert set(np.unique(tw.t)) <= {-1, 0, 1}
    assert np.allclose(tw.t * np.float32(tw.scale), ref.weight_quant(w), rtol=1e-6, atol=0)


def test_ternary_floats_are_recognized_with_their_scales() -> None:
    t = rng.integers(-1, 2, size=(8, 256), dtype=np.int8)
    one = ternary_rows(t * np.float32(0.03125))
    assert one is not None and one.row_scale is None and one.scale == 0.03125 and np.array_equal(one.t, t)
    per_row = ternary_rows(t * np.linspace(0.01, 0.08, 8, dtype=np.float32)[:, None])
    assert per_row is not None and per_row.row_scale is not None
    assert np.allclose(per_row.values(), t * np.linspace(0.01, 0.08, 8, dtype=np.float32)[:, None])
    assert ternary_rows(rng.standard_normal((8, 256)).astype(np.float32)) is None


def test_safetensors_header_is_read_through_a_byte_source(tmp_path: Path) -> None:
    w = rng.standard_normal((4, 8)).astype(np.float32)
    R.write_safetensors(tmp_path / "m.safetensors", {"a": ("BF16", w), "b": ("U8", np.arange(6, dtype=np.uint8))})
    data = (tmp_path / "m.safetensors").read_bytes()
    src = Bytes(data)
    st = parse_header(src, len(data), "m.safetensors")
    assert src.reads == 2 and st.tensors["a"].shape == (4, 8) and st.tensors["b"].dtype == "U8"
    with open(tmp_path / "m.safetensors", "rb") as f:
        rows = to_float32(read_rows(f, st.tensors["a"], 1, 3), "BF16")
    assert np.array_equal(rows, R.bf16_round(w)[1:3])


def test_streamed_gguf_reads_back_with_gguf_py(tmp_path: Path) -> None:
    w = GGUFStream(tmp_path / "x.gguf")
    w.add_str("general.architecture", "llama")
    w.add_u32("llama.block_count", 3)
    w.add_f32("llama.rope.freq_base", 500000.0)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_array("tokenizer.ggml.tokens", GGUFValueType.STRING, ["a", "é", "<|eot_id|>"])
    w.add_array("tokenizer.ggml.token_type", GGUFValueType.INT32, [1, 1, 3])
    emb = rng.standard_normal((5, 256)).astype(np.float16)
    t = rng.integers(-1, 2, size=(2, 256), dtype=np.int8)
    w.add_tensor("token_embd.weight", emb.shape, GGMLQuantizationType.F16)
    w.add_tensor("blk.0.attn_q.weight", t.shape, GGMLQuantizationType.TQ2_0)
    w.add_tensor("blk.0.attn_q.scale", (1,), GGMLQuantizationType.F32)
    w.begin()
    w.write(emb[:2])  # a tensor may arrive in pieces
    w.write(emb[2:])
    w.write(ternary_to_tq2(t))
    w.write(np.array([0.5], dtype=np.float32))
    sha = w.finish()
    r = GGUFReader(tmp_path / "x.gguf")
    assert r.fields["llama.block_count"].contents() == 3 and r.fields["tokenizer.ggml.tokens"].contents()[1] == "é"
    tensors = {x.name: x for x in r.tensors}
    assert np.array_equal(np.asarray(tensors["token_embd.weight"].data), emb)
    got = quants.dequantize(np.asarray(tensors["blk.0.attn_q.weight"].data), GGMLQuantizationType.TQ2_0)
    assert np.array_equal(got, t) and float(tensors["blk.0.attn_q.scale"].data[0]) == 0.5
    import hashlib

    assert sha == hashlib.sha256((tmp_path / "x.gguf").read_bytes()).hexdigest()


def _valid_safetensors() -> bytes:
    import io
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "m.safetensors"
        R.write_safetensors(p, {"w": ("U8", np.arange(32, dtype=np.uint8).reshape(4, 8)),
                                "s": ("BF16", np.ones(1, dtype=np.float32))})
        return io.BytesIO(p.read_bytes()).getvalue()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_damaged_safetensors_header_is_a_clear_error(data: st.DataObject) -> None:
    """Bytes from the network or disk: parsing either succeeds or raises ConvertError, never anything else."""
    raw = bytearray(_valid_safetensors())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        parse_header(Bytes(bytes(raw)), len(raw), "damaged.safetensors")
    except ConvertError as e:
        assert "damaged.safetensors" in str(e)


@pytest.fixture(scope="module")
def good_i2s(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("i2s-fuzz")
    spec = R.Tiny(layers=1, hidden=256, intermediate=256)
    return I.i2s_gguf(folder / "good.gguf", R.make_truth(spec, 0), "bitnet-25").read_bytes()


def test_any_damaged_i2s_file_is_a_clear_error(good_i2s: bytes, tmp_path: Path) -> None:
    end = 4096  # the header, where the claims are (its metadata, tensor table and the first tensors)
    bad = tmp_path / "bad.gguf"

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, end), st.integers(0, 255)), min_size=1, max_size=3),
           st.integers(0, len(good_i2s)))
    def check(edits: list[tuple[int, int]], cut: int) -> None:
        raw = bytearray(good_i2s)
        for at, value in edits:
            raw[at] = value
        bad.write_bytes(bytes(raw[:cut]))
        try:
            plan_output(bad, "bad.gguf")
        except ConvertError as e:
            assert "bad.gguf" in str(e)

    check()
