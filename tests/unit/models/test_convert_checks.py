"""Bad input gets one clear error naming the repo/file and the reason, and leaves nothing behind; a good
conversion is registered with its provenance; the verdict before conversion comes from headers alone."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from backend.errors import ModelFileError
from backend.models.checks import RELU2_PATCH, check_activation, preflight
from backend.models.convert import (
    ConvertCancelled,
    ConvertError,
    ConvertProgress,
    check_i2s,
    check_local,
    check_safetensors,
    convert_and_register,
)
from backend.models.convert.safetensors import parse_header
from backend.models.gguf_header import parse_header as parse_gguf_header
from backend.models.gguf_header import read_header
from backend.models.registry import Registry
from backend.paths import paths
from backend.store import Store
from tests.support import i2s_files as I
from tests.support import ternary_repos as R
from tests.unit.models.test_convert_formats import Bytes

LLAMA = R.Tiny(arch="llama", act="silu", tied=False)


@pytest.fixture()
def registry(tern_home: Path) -> Registry:
    return Registry(Store(tern_home / "t.sqlite3"))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checks-src")
    bitnet = R.make_truth(R.Tiny(), 1)
    return {"2b4t": R.packed_repo(root / "2b4t", bitnet, "autobitlinear"),
            "falcon": R.packed_repo(root / "falcon", R.make_truth(LLAMA, 2), "bitlinear"),
            "i2s": I.i2s_gguf(root / "2b4t.gguf", bitnet, "bitnet-25")}


@pytest.fixture()
def repo(sources: dict[str, Path], tmp_path: Path) -> Path:
    """A fresh copy of the 2B-4T-style repo to damage."""
    return Path(shutil.copytree(sources["2b4t"], tmp_path / "repo"))


def refused(registry: Registry, src: Path, code: str, *words: str) -> ConvertError:
    with pytest.raises(ConvertError) as err:
        convert_and_register(registry, src, name="victim")
    e = err.value
    assert e.code == code, str(e)
    for w in words:
        assert w in str(e), str(e)
    assert registry.find("victim") is None
    out = paths().models / "converted"
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())
    return e


def _header(path: Path) -> tuple[int, dict]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return n, json.loads(data[8 : 8 + n])


def _rewrite_header(path: Path, edit: Callable[[dict], object]) -> None:
    data = path.read_bytes()
    n, doc = _header(path)
    edit(doc)
    head = json.dumps(doc).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + data[8 + n :])


def test_truncated_header(registry: Registry, repo: Path) -> None:
    st = repo / "model.safetensors"
    n, _ = _header(st)
    st.write_bytes(st.read_bytes()[: 8 + n // 2])
    refused(registry, repo, "bad_file", "model.safetensors", "truncated")


def test_header_lying_about_shape_or_dtype(registry: Registry, repo: Path) -> None:
    name = "model.layers.1.mlp.up_proj.weight"
    _rewrite_header(repo / "model.safetensors", lambda d: d[name].update(shape=[128, 512]))
    refused(registry, repo, "bad_file", "model.safetensors", name, "the header lies")
    _rewrite_header(repo / "model.safetensors", lambda d: d[name].update(shape=[128, 256], dtype="F16"))
    refused(registry, repo, "bad_file", name, "in F16 needs", "the header lies")


def test_weights_cut_short(registry: Registry, repo: Path) -> None:
    st = repo / "model.safetensors"
    st.write_bytes(st.read_bytes()[:-1000])
    refused(registry, repo, "bad_file", "model.safetensors", "past the end of the file")


def test_missing_tokenizer(registry: Registry, repo: Path) -> None:
    (repo / "tokenizer.json").unlink()
    refused(registry, repo, "no_tokenizer", str(repo), "no tokenizer.json")


def test_unknown_quant_method_and_linear_class(registry: Registry, repo: Path) -> None:
    cfg = json.loads((repo / "config.json").read_text())
    cfg["quantization_config"]["quant_method"] = "gptq"
    (repo / "config.json").write_text(json.dumps(cfg))
    refused(registry, repo, "unknown_quant_method", "config.json", "'gptq'")
    cfg["quantization_config"].update(quant_method="bitnet", linear_class="fancylinear")
    (repo / "config.json").write_text(json.dumps(cfg))
    refused(registry, repo, "unknown_linear_class", "config.json", "'fancylinear'")


def test_packed_rows_that_do_not_match_the_config(registry: Registry, repo: Path) -> None:
    cfg = json.loads((repo / "config.json").read_text())
    cfg["intermediate_size"] = 768
    (repo / "config.json").write_text(json.dumps(cfg))
    refused(registry, repo, "shape_mismatch", "model.safetensors", "gate_proj", "packs into [192, 256]")


def test_no_weights(registry: Registry, repo: Path) -> None:
    (repo / "model.safetensors").unlink()
    refused(registry, repo, "no_weights", str(repo), "no *.safetensors")


def test_floats_that_are_not_ternary_fail_mid_conversion_and_leave_nothing(registry: Registry,
                                                                         tmp_path: Path) -> None:
    tr = R.make_truth(R.Tiny(arch="llama", act="silu"), 3)
    tr.codes["model.layers.2.mlp.up_proj.weight"] = np.zeros((512, 256), dtype=np.int8)
    src = R.ternary_float_repo(tmp_path / "trilm", tr)
    R.write_safetensors(src / "model.safetensors", {  # the last layer's up_proj: plain gaussian floats
        **{n: ("BF16", a) for n, a in tr.floats.items()},
        **{n: ("BF16", tr.weight(n)) for n in tr.codes if not n.endswith("2.mlp.up_proj.weight")},
        "model.layers.2.mlp.up_proj.weight": ("BF16", np.random.default_rng(0).standard_normal((512, 256)))})
    refused(registry, src, "not_ternary", "model.layers.2.mlp.up_proj.weight", "not ternary")


def test_i2s_tensor_whose_size_does_not_match_its_shape(registry: Registry, sources: dict[str, Path],
                                                        tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    shutil.copyfile(sources["i2s"], bad)
    info = next(t for t in read_header(bad).tensors if t.name == "blk.0.attn_q.weight")
    with open(bad, "r+b") as f:  # claim 512 output rows instead of 256: twice the bytes the file holds
        f.seek(info.info_offset - 8)
        f.write(struct.pack("<Q", 512))
    refused(registry, bad, "bad_file", "bad.gguf", "blk.0.attn_q.weight", "needs 32,800 bytes")
    shutil.copyfile(sources["i2s"], bad)
    bad.write_bytes(bad.read_bytes()[:-300])
    refused(registry, bad, "bad_file", "the end of the file")


def test_tl2_files_are_refused_by_their_metadata(registry: Registry, sources: dict[str, Path],
                                                 tmp_path: Path) -> None:
    bad = tmp_path / "ggml-model-tl2.gguf"
    data = bytearray(sources["i2s"].read_bytes())
    key = b"general.file_type"
    at = data.index(key) + len(key) + 4  # after the key and its value type
    struct.pack_into("<I", data, at, 39)
    bad.write_bytes(bytes(data))
    refused(registry, bad, "unsupported_type", "TL2", "I2_S file")


def test_cancel_leaves_nothing(registry: Registry, sources: dict[str, Path]) -> None:
    cancel = threading.Event()

    def progress(p: ConvertProgress) -> None:
        if p.phase == "convert":
            cancel.set()

    with pytest.raises(ConvertCancelled):
        convert_and_register(registry, sources["falcon"], name="victim", progress=progress, cancel=cancel)
    assert registry.find("victim") is None
    assert not any((paths().models / "converted").iterdir())


def test_registered_with_provenance(registry: Registry, sources: dict[str, Path]) -> None:
    src = sources["2b4t"]
    v = convert_and_register(registry, src, repo="tern-test/tiny-bitnet-2B", revision="0123abc")
    assert v.model_name == "tiny-bitnet-2B" and v.source == "converted" and v.encoding == "TQ2_0" and v.usable
    assert v.sha256 == hashlib.sha256(v.path.read_bytes()).hexdigest()
    assert v.source_repo == "tern-test/tiny-bitnet-2B" and v.source_file == "model.safetensors"
    conv = v.info["converted"]
    assert conv["revision"] == "0123abc" and conv["converter_version"] and conv["kind"] == "packed-autobitlinear"
    assert conv["source_files"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in src.iterdir()}
    model = registry.find("tiny-bitnet-2B")
    assert model is not None and model.chat is True and model.repo == "tern-test/tiny-bitnet-2B"
    with pytest.raises(ConvertError, match="already has tiny-bitnet-2B:tq2_0"):
        convert_and_register(registry, src, repo="tern-test/tiny-bitnet-2B")
    i2s = convert_and_register(registry, sources["i2s"], name="from-i2s")
    assert i2s.info["converted"]["metadata_changed"]["tokenizer.ggml.pre"] == "llama-bpe"
    assert i2s.info["converted"]["source_architecture"] == "bitnet-25"


def test_verdict_of_a_local_repo_matches_the_conversion(registry: Registry, sources: dict[str, Path]) -> None:
    for src in (sources["2b4t"], sources["falcon"], sources["i2s"]):
        v = check_local(src)
        assert v.convertible, v.reasons
        out = convert_and_register(registry, src, name=src.name)
        assert abs(v.output_bytes - out.file_bytes) < 0.05 * out.file_bytes + 70_000
        assert v.ram is not None and v.ram.need_bytes > out.file_bytes
        assert v.text.startswith("converted on this computer (") and "B on disk, needs ≈ " in v.text


def _remote_safetensors(config: dict, dtype: str = "BF16") -> tuple[dict, dict]:
    """Headers as an HTTP range reader would fetch them: a header only, claiming a file of full size."""
    from backend.models.convert.plan import plan_model

    names = {f"model.layers.{i}.{k}" for i in range(config["num_hidden_layers"]) for k in (
        "self_attn.inner_attn_ln.weight", "mlp.ffn_layernorm.weight")}
    plan = plan_model(config, names, "tern-test/remote")
    doc, offset = {}, 0
    for spec in plan.tensors:
        n = int(np.prod(spec.shape)) * 2
        doc[spec.hf] = {"dtype": dtype, "shape": list(spec.shape), "data_offsets": [offset, offset + n]}
        offset += n
    head = json.dumps(doc).encode()
    data = struct.pack("<Q", len(head)) + head
    size = len(data) + offset
    st = parse_header(Bytes(data), size, "model.safetensors")
    return {"model.safetensors": st}, {"model.safetensors": size, "tokenizer.json": 1_800_000, "config.json": 700}


def test_verdict_before_download_explains_a_layer_tq_cannot_hold() -> None:
    """1bitLLM/bitnet_b1_58-3B's shape: 3200 and 8640 are not multiples of 256."""
    cfg = {"architectures": ["BitnetForCausalLM"], "hidden_size": 3200, "intermediate_size": 8640,
           "num_hidden_layers": 26, "num_attention_heads": 32, "vocab_size": 32002, "hidden_act": "silu",
           "max_position_embeddings": 2048, "rms_norm_eps": 1e-5}
    headers, sizes = _remote_safetensors(cfg)
    v = check_safetensors("1bitLLM/bitnet_b1_58-3B", cfg, headers, ["config.json", "tokenizer.json",
                                                                    "model.safetensors"], sizes)
    assert not v.convertible
    assert "the hidden size 3200 is not a multiple of 256" in v.text and "8640" in v.text
    assert "An F16 fallback would store these layers in F16: about 6.6" in v.text and "does not offer it" in v.text
    assert v.download_bytes == sum(sizes.values())


def test_verdict_before_download_of_a_convertible_repo_and_an_i2s_header(sources: dict[str, Path]) -> None:
    cfg = json.loads((sources["falcon"] / "config.json").read_text())
    data = (sources["falcon"] / "model.safetensors").read_bytes()
    st = parse_header(Bytes(data[: 64 * 1024]), len(data), "model.safetensors")
    v = check_safetensors("tern-test/falcon", cfg, {"model.safetensors": st},
                          ["config.json", "tokenizer.json", "model.safetensors"], {"model.safetensors": len(data)},
                          available_ram=8 << 30)
    assert v.convertible and v.kind == "packed-bitlinear" and v.arch == "llama" and v.ram.verdict == "fits"
    gguf = sources["i2s"].read_bytes()
    header = parse_gguf_header(Bytes(gguf[: 256 * 1024]))
    v = check_i2s("tern-test/bitnet-i2s", header, len(gguf))
    assert v.convertible and v.arch == "bitnet" and v.download_bytes == len(gguf)
    cfg["quantization_config"]["quant_method"] = "awq"
    bad = check_safetensors("tern-test/awq", cfg, {"model.safetensors": st}, ["tokenizer.json"], {})
    assert not bad.convertible and "'awq'" in bad.text


def test_a_relu2_model_needs_the_engine_patch(registry: Registry, sources: dict[str, Path]) -> None:
    v = convert_and_register(registry, sources["2b4t"], name="relu2")
    header = read_header(v.path)
    with pytest.raises(ModelFileError) as err:
        check_activation(v.path, header, patches=[])
    assert err.value.code == "engine_lacks_patch" and RELU2_PATCH in str(err.value) and str(v.path) in str(err.value)
    check_activation(v.path, header, patches=[RELU2_PATCH])
    preflight(v.path)  # the engine Tern builds has the patch


def test_llama_i2s_with_rope_frequency_factors_keeps_them(registry: Registry, tmp_path: Path) -> None:
    """A llama-architecture I2_S file whose RoPE factors are not the plain ones llama.cpp computes itself:
    the factors are copied as they are (llama.cpp's llama graph reads rope_freqs.weight)."""
    tr = R.make_truth(LLAMA, 5)
    factors = np.linspace(1.0, 8.0, LLAMA.head_dim // 2).astype(np.float32)
    src = I.i2s_gguf(tmp_path / "falcon-i2s.gguf", tr, "llama", permuted=True, rope_freqs=factors)
    v = convert_and_register(registry, src, name="with-rope-factors")
    h = read_header(v.path)
    t = next(t for t in h.tensors if t.name == "rope_freqs.weight")
    assert t.type_name == "F32" and t.shape == factors.shape
    with open(v.path, "rb") as f:
        f.seek(h.data_start + t.offset)
        assert np.array_equal(np.frombuffer(f.read(factors.nbytes), np.float32), factors)
