"""Converted models compute what the original checkpoints compute: llama.cpp against a numpy reference.

Each tiny checkpoint is written in its publisher's real format (tests/support/ternary_repos.py), converted,
and run by the real engine (llama-cpp-python with Tern's patches, logits at every position). The reference
(tests/support/reference.py) is written from the Hugging Face model definitions and reads the repo's own
files. The negative controls — the reference with the wrong FFN activation, or the wrong scale convention —
must fail the same comparison, so the comparison can tell a right conversion from a wrong one.

Conversions here use the default output head (DEFAULT_HEAD, Q8_0); tests/unit/models/test_head_encodings.py
checks each head encoding. The TQ files' small disagreement is activation rounding: llama.cpp quantizes a
layer's input to 8 bits per 256 values, transformers per token, and a random model amplifies the different
roundings; on this machine, with F16 heads, the lowest cosine was 0.997 and top-1 agreement 94–98 % over 128
positions (with the Q8_0 head: 0.989 and 91–98 %). The F16 variant, which does not
quantize activations, matches the reference without it to 0.99999 (the weights themselves are exact).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backend.models.convert import DEFAULT_HEAD, HEAD_ENCODINGS, convert_and_register, convert_file
from backend.models.derive import derive_variant
from backend.models.gguf_header import read_header
from backend.models.registry import Registry
from backend.store import Store
from tests.support import i2s_files as I
from tests.support import reference as ref
from tests.support import ternary_repos as R

COS, TOP1 = 0.98, 0.90
TOKENS = [int(t) for t in np.random.default_rng(42).integers(0, 504, 128)]
BITNET = R.Tiny()
LLAMA = R.Tiny(arch="llama", act="silu", tied=False, rope_theta=1000042.0)
TRILM = R.Tiny(arch="llama", act="silu", tied=True, rope_theta=10000.0)


def _make(kind: str, root: Path) -> tuple[Path, ref.RefModel | None]:
    """(the source to convert, the reference model for an I2_S file: the weights it was written from)."""
    if kind == "2b4t-packed":
        return R.packed_repo(root / kind, R.make_truth(BITNET, 1), "autobitlinear"), None
    if kind == "falcon-packed":
        return R.packed_repo(root / kind, R.make_truth(LLAMA, 2), "bitlinear", R.LLAMA3_TEMPLATE, True), None  # type: ignore[return-value]
    if kind == "2b4t-bf16":
        return R.master_repo(root / kind, R.make_truth(BITNET, 3)), None
    if kind == "trilm-unpacked":
        return R.ternary_float_repo(root / kind, R.make_truth(TRILM, 4)), None
    arch, spec, extra = {"2b4t-i2s": ("bitnet-25", BITNET, {}), "2b4t-i2s-renamed": ("bitnet-b1.58", BITNET, {}),
                         "falcon-i2s": ("bitnet-b1.58", LLAMA, {"pre": "falcon_e"}),
                         "llama-i2s": ("llama", LLAMA, {"pre": "llama-bpe", "permuted": True})}[kind]
    tr = R.make_truth(spec, 5)
    root.mkdir(parents=True, exist_ok=True)
    return I.i2s_gguf(root / f"{kind}.gguf", tr, arch, **extra), ref.from_truth(tr)


KINDS = ["2b4t-packed", "falcon-packed", "2b4t-bf16", "trilm-unpacked", "2b4t-i2s", "2b4t-i2s-renamed", "falcon-i2s",
         "llama-i2s"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, ref.RefModel]]:
    root = tmp_path_factory.mktemp("convert-ref")
    out = {}
    for kind in KINDS:
        src, model = _make(kind, root / "src")
        model = model or ref.load_repo(src)
        out[kind] = (src, convert_file(src, root / "out" / f"{kind}.gguf").path, model)
    return out


def passes(a: np.ndarray, b: np.ndarray) -> bool:
    cos, top1 = ref.agreement(a, b)
    return cos >= COS and top1 >= TOP1


@pytest.mark.parametrize("kind", KINDS)
def test_llama_cpp_agrees_with_the_reference(converted: dict, kind: str) -> None:
    src, gguf, model = converted[kind]
    got = ref.engine_logits(gguf, TOKENS)
    cos, top1 = ref.agreement(got, ref.logits(model, TOKENS))
    assert cos >= COS and top1 >= TOP1, f"{kind}: lowest cosine {cos:.4f}, top-1 agreement {top1:.0%}"


def test_the_layout_is_ternary_with_real_scales_and_the_default_head(converted: dict) -> None:
    h = read_header(converted["falcon-packed"][1])
    types = {t.name: t.type_name for t in h.tensors}
    head = HEAD_ENCODINGS[DEFAULT_HEAD].name
    assert h.architecture == "llama" and h.encoding == "TQ2_0"
    assert types["token_embd.weight"] == head and types["output.weight"] == head
    assert types["blk.0.attn_norm.weight"] == "F32" and types["blk.2.ffn_down.weight"] == "TQ2_0"
    assert types["blk.2.ffn_down.scale"] == "F32"
    bitnet = read_header(converted["2b4t-packed"][1])
    assert bitnet.architecture == "bitnet" and bitnet.metadata["bitnet.hidden_activation"] == "relu2"
    assert "output.weight" not in {t.name for t in bitnet.tensors}


@pytest.mark.parametrize(("kind", "wrong"), [("2b4t-packed", "silu"), ("falcon-packed", "relu2"), ("2b4t-i2s", "silu")])
def test_the_wrong_activation_fails_the_comparison(converted: dict, kind: str, wrong: str) -> None:
    """What an engine without the ReLU² patch computes for 2B-4T (SiLU), and the converse."""
    src, gguf, model = converted[kind]
    model = ref.load_repo(src, act=wrong) if src.is_dir() else ref.RefModel(**{**model.__dict__, "act": wrong})
    assert not passes(ref.engine_logits(gguf, TOKENS), ref.logits(model, TOKENS))


@pytest.mark.parametrize(("kind", "wrong"), [("2b4t-packed", "divide"), ("falcon-packed", "multiply")])
def test_the_wrong_scale_convention_fails_the_comparison(converted: dict, kind: str, wrong: str) -> None:
    """llama.cpp's own converter divides by weight_scale for every packed repo: wrong for 2B-4T."""
    src, gguf, _ = converted[kind]
    assert not passes(ref.engine_logits(gguf, TOKENS), ref.logits(ref.load_repo(src, convention=wrong), TOKENS))


def test_tq1_0_holds_the_same_weights(converted: dict, tmp_path: Path) -> None:
    src, tq2, model = converted["2b4t-packed"]
    tq1 = convert_file(src, tmp_path / "tq1.gguf", target="tq1_0").path
    assert read_header(tq1).encoding == "TQ1_0"
    a, b = ref.engine_logits(tq1, TOKENS), ref.engine_logits(tq2, TOKENS)
    assert passes(a, ref.logits(model, TOKENS))
    assert np.array_equal(a.argmax(-1), b.argmax(-1))


@pytest.mark.parametrize("kind", ["2b4t-packed", "falcon-i2s"])
def test_the_f16_variant_holds_exactly_the_checkpoints_weights(converted: dict, kind: str, tern_home: Path) -> None:
    """"Make FP16 variant" on a converted model with an F16 head: F16 matmuls do not quantize activations, so
    against the reference without activation quantization the logits agree to rounding — the weights are exact.
    (A quantized head stays quantized in the F16 variant: both sides then read the same head.)"""
    src, _, model = converted[kind]
    registry = Registry(Store(tern_home / "t.sqlite3"))
    v = convert_and_register(registry, src, name=kind, head_encoding="f16")
    f16 = derive_variant(registry, kind, "f16", threads=2)
    assert f16.encoding == "F16" and f16.derived_from_sha256 == v.sha256
    exact = ref.RefModel(**{**model.__dict__, "act_quant": False})
    cos, top1 = ref.agreement(ref.engine_logits(f16.path, TOKENS), ref.logits(exact, TOKENS))
    assert cos > 0.9999 and top1 == 1.0
