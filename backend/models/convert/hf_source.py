"""A Hugging Face model folder (config.json, *.safetensors, tokenizer files) as tensors to stream out.

Each output tensor is computed only when the writer reaches it, from its own bytes in the source
file, so one linear layer (or one block of embedding rows) is in memory at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backend.models.convert import plan as P
from backend.models.convert.errors import ConvertError
from backend.models.convert.gguf_out import (
    HEAD_ENCODINGS,
    HEAD_TOLERANCE,
    TARGETS,
    Output,
    OutTensor,
    encode_head,
    float_rows,
    head_sample_rows,
    linear_tensors,
    write_hparams,
    write_provenance,
)
from backend.models.convert.packing import unpack_bitnet
from backend.models.convert.safetensors import STensor, read_header, read_rows, row_bytes, to_float32
from backend.models.convert.scales import (
    DIVIDE,
    MULTIPLY,
    TernaryWeight,
    absmean_ternarize,
    real_scale,
    ternary_rows,
)
from backend.models.convert.vocab import vocab_from_folder
from backend.models.convert.writer import GGUFStream

F16_MAX = 65504.0


def weight_files(folder: Path, source: str) -> list[Path]:
    """The folder's safetensors files; every shard its index names must be there."""
    files = sorted(p for p in folder.glob("*.safetensors") if p.is_file())
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        try:
            wanted = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ConvertError(f"{source}/{index.name}", "it is not a readable safetensors index",
                               code="bad_file") from e
        missing = sorted(n for n in wanted if not (folder / str(n)).is_file())
        if missing:
            raise ConvertError(source, f"weight file {missing[0]} (named in {index.name}) is missing",
                               "Download every part of the model.", code="no_weights")
    if not files:
        raise ConvertError(source, "it holds no weights (no *.safetensors file)",
                           "Tern converts safetensors checkpoints and bitnet.cpp I2_S GGUF files.", code="no_weights")
    return files


def read_headers(files: list[Path], source: str) -> dict[str, STensor]:
    tensors: dict[str, STensor] = {}
    for path in files:
        for name, t in read_header(path).tensors.items():
            if name in tensors:
                raise ConvertError(source, f"tensor {name} is in both {tensors[name].file} and {path.name}",
                                   code="bad_file")
            tensors[name] = t
    return tensors


def _reader(folder: Path, t: STensor) -> Callable[[int, int], np.ndarray]:
    def read(start: int, stop: int) -> np.ndarray:
        with open(folder / t.file, "rb") as f:
            return read_rows(f, t, start, stop)
    return read


def _linear(folder: Path, kind: str, spec: P.TensorSpec, tensors: dict[str, STensor],
            source: str) -> Callable[[], TernaryWeight]:
    t = tensors[spec.hf]
    read = _reader(folder, t)
    where = f"{source}/{t.file} (tensor {spec.hf})"

    def produce() -> TernaryWeight:
        if kind in (P.PACKED_BITLINEAR, P.PACKED_AUTOBITLINEAR):
            s = tensors[P.scale_name(spec.hf)]
            raw = float(to_float32(_reader(folder, s)(0, 1), s.dtype).reshape(-1)[0])
            try:
                scale = real_scale(raw, MULTIPLY if kind == P.PACKED_AUTOBITLINEAR else DIVIDE)
            except ValueError as e:
                raise ConvertError(where, str(e), code="bad_file") from e
            return TernaryWeight(unpack_bitnet(read(0, t.shape[0]), spec.shape[0]), scale)
        w = to_float32(read(0, t.shape[0]), t.dtype)
        if not np.isfinite(w).all():
            raise ConvertError(where, "it holds NaN or infinite values", code="bad_file")
        if kind == P.MASTER_WEIGHTS:
            return absmean_ternarize(w)
        tw = ternary_rows(w)
        if tw is None:
            raise ConvertError(where, "its values are not ternary (a row holds more than 0 and ±one magnitude), and "
                               "config.json does not say how to ternarize them", code="not_ternary")
        return tw

    return produce


def _float_tensor(folder: Path, t: STensor, name: str, source: str, head_encoding: str | None = None) -> OutTensor:
    """A float tensor streamed a block of rows at a time: F32 (norms), or an embedding/head in `head_encoding`."""
    where = f"{source}/{t.file} (tensor {t.name})"
    read = _reader(folder, t)

    def values(arr: np.ndarray) -> np.ndarray:
        v = to_float32(arr, t.dtype)
        if not np.isfinite(v).all() or (head_encoding and np.abs(v).max(initial=0) > F16_MAX):
            raise ConvertError(where, f"it holds values {head_encoding.upper() if head_encoding else 'F32'} cannot "
                               "store (NaN, infinite or beyond ±65504)", code="bad_file")
        return v

    rows = t.shape[0] if t.shape else 1
    if head_encoding is None:
        return OutTensor(name, t.shape, 0, float_rows(rows, row_bytes(t), read, lambda a: values(a)))
    n = head_sample_rows(rows)
    return OutTensor(name, t.shape, int(HEAD_ENCODINGS[head_encoding]),
                     float_rows(rows, row_bytes(t), read, lambda a: encode_head(values(a), head_encoding)),
                     sample=lambda: to_float32(read(0, n), t.dtype), tolerance=HEAD_TOLERANCE[head_encoding])


def hf_output(folder: Path, source: str, target: str, head_encoding: str, name: str, version: str) -> Output:
    """Plan and check a safetensors folder; raises ConvertError before anything is written."""
    cfg = P.read_config(folder, source)
    files = weight_files(folder, source)
    tensors = read_headers(files, source)
    plan = P.plan_model(cfg, set(tensors), source)
    if plan.problems:
        raise ConvertError(source, "its weights cannot be stored in TQ1_0/TQ2_0 blocks: " + "; ".join(plan.problems),
                           "TQ encodings need every linear layer's input size to be a multiple of 256.",
                           code="not_tq_encodable")
    kind = P.match_kind(plan, tensors)
    vocab = vocab_from_folder(folder, plan.hp.n_vocab, source)
    qtype = int(TARGETS[target])
    out: list[OutTensor] = []
    for spec in plan.tensors:
        t = tensors[spec.hf]
        if spec.role == "linear":
            out += linear_tensors(spec.gguf, spec.shape, qtype, _linear(folder, kind, spec, tensors, source),
                                  spec.permute_heads, source)
        elif spec.role in ("embedding", "head"):
            out.append(_float_tensor(folder, t, spec.gguf, source, head_encoding))
        else:
            out.append(_float_tensor(folder, t, spec.gguf, source))

    def keys(w: GGUFStream) -> None:
        write_hparams(w, plan.hp, name)
        write_provenance(w, target, kind, source, version)
        vocab.write(w)

    info = {"kind": kind, "kind_text": P.KIND_TEXT[kind], "arch": plan.hp.arch, "activation": plan.hp.act,
            "hf_architecture": plan.hf_arch, "tokenizer_pre": vocab.pre, "chat_template": bool(vocab.chat_template),
            "eot_token_id": vocab.special_ids.get("eot"), "head_encoding": HEAD_ENCODINGS[head_encoding].name}
    inputs = [*files, *(folder / n for n in P.SMALL_FILES if (folder / n).is_file())]
    return Output(kind, plan.hp.arch, out, keys, inputs, info)

