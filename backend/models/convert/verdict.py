"""Can a checkpoint be converted here, and what will it cost? Decided from headers alone.

Works on what a Hub pipeline can fetch before any weights move — config.json, each safetensors
file's header (HTTP range requests through a `ByteSource`, see safetensors.parse_header), the
repo's file list and sizes, or an I2_S GGUF's header (gguf_header.parse_header) — and on local
files the same way. The verdict says convertible or not and why, the download, the output's size
on disk and the RAM it needs to run (ram_fit's rule: weights + KV cache + overhead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGML_QUANT_SIZES

from backend import units
from backend.models.convert import plan as P
from backend.models.convert.errors import ConvertError
from backend.models.convert.gguf_out import DEFAULT_HEAD, HEAD_ENCODINGS, TARGETS
from backend.models.convert.gguf_read import GTensor
from backend.models.convert.i2s import _size, plan_i2s
from backend.models.convert.safetensors import STFile
from backend.models.gguf_header import GGUFHeader
from backend.models.ram_fit import RamFit, kv_bytes, ram_fit

ALIGN = 32


@dataclass
class ConvertVerdict:
    source: str
    convertible: bool
    kind: str | None = None
    arch: str | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    download_bytes: int | None = None
    output_bytes: int | None = None
    ram: RamFit | None = None
    f16_fallback: str | None = None

    @property
    def text(self) -> str:
        if not self.convertible:
            why = "; ".join(self.reasons)
            return f"cannot be converted here: {why}" + (f". {self.f16_fallback}" if self.f16_fallback else "")
        parts = [f"{units.size(self.download_bytes)} download" if self.download_bytes else None,
                 f"{units.size(self.output_bytes)} on disk" if self.output_bytes else None,
                 f"needs ≈ {units.memory(self.ram.need_bytes)} RAM" if self.ram else None]
        return "converted on this computer (" + ", ".join(p for p in parts if p) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "convertible": self.convertible, "kind": self.kind, "arch": self.arch,
                "reasons": self.reasons, "notes": self.notes, "download_bytes": self.download_bytes,
                "output_bytes": self.output_bytes, "ram_need_bytes": self.ram.need_bytes if self.ram else None,
                "ram_verdict": self.ram.verdict if self.ram else None, "f16_fallback": self.f16_fallback,
                "text": self.text}


def _why(e: ConvertError, source: str) -> str:
    """The reason, with the file and tensor it is about when the error names more than the source."""
    return e.reason if e.source == source else f"{e.source}: {e.reason}"


def _padded(n: int) -> int:
    return n + (-n % ALIGN)


def estimate_output_bytes(tensors: list[tuple[str, int, int]], target: str, n_vocab: int,
                          head_encoding: str = DEFAULT_HEAD) -> int:
    """Bytes of the output: (role, elements, source bytes) per tensor, plus the vocabulary's metadata.
    (The catalog estimates a model it has not downloaded with the same rule, from published dimensions.)"""
    block, size = GGML_QUANT_SIZES[TARGETS[target]]
    head_block, head_size = GGML_QUANT_SIZES[HEAD_ENCODINGS[head_encoding]]
    total = 64 * 1024 + 40 * n_vocab  # keys, tensor table, tokens and merges (about 40 bytes per token)
    for role, n, src_bytes in tensors:
        if role == "linear":
            total += _padded(n // block * size) + ALIGN  # the weight, and its .scale
        elif role in ("embedding", "head"):
            total += _padded(n // head_block * head_size)
        else:
            total += _padded(src_bytes)
    return total


def _fit(v: ConvertVerdict, n_layer: int, n_head_kv: int, head_dim: int, n_ctx: int, available: int | None) -> None:
    if v.output_bytes:
        v.ram = ram_fit(v.output_bytes, kv_bytes(n_layer, n_head_kv, head_dim, n_ctx), available)


def check_safetensors(source: str, config: dict[str, Any], headers: dict[str, STFile], repo_files: list[str],
                      file_sizes: dict[str, int], target: str = "tq2_0", n_ctx: int = 2048,
                      available_ram: int | None = None) -> ConvertVerdict:
    """The verdict for a safetensors repo from its config, headers and file list (no weights read)."""
    v = ConvertVerdict(source, False)
    tensors = {n: t for h in headers.values() for n, t in h.tensors.items()}
    v.download_bytes = sum(s for f, s in file_sizes.items() if f.endswith(".safetensors") or f in P.SMALL_FILES)
    if not headers:
        v.reasons.append("it holds no weights (no *.safetensors file)")
        return v
    try:
        plan = P.plan_model(config, set(tensors), source)
    except ConvertError as e:
        v.reasons.append(_why(e, source))
        return v
    v.arch = plan.hp.arch
    n = [(t.role, math.prod(t.shape), tensors[t.hf].nbytes if t.hf in tensors else 4 * math.prod(t.shape))
         for t in plan.tensors]
    if plan.problems:
        v.reasons += plan.problems
        f16 = sum(2 * k if role != "norm" else b for role, k, b in n)
        v.f16_fallback = (f"TQ encodings need every linear layer's input to be a multiple of 256. An F16 fallback "
                          f"would store these layers in F16: about {units.size(f16)} on disk, running at F16 speed "
                          "with nothing ternary left to gain, so Tern does not offer it")
    try:
        v.kind = P.match_kind(plan, tensors)
    except ConvertError as e:
        v.reasons.append(_why(e, source))
    if "tokenizer.json" not in repo_files:
        sp = (" (it has a SentencePiece tokenizer.model, which Tern does not read)"
              if "tokenizer.model" in repo_files else "")
        v.reasons.append("it has no tokenizer.json" + sp)
    if v.kind == P.TERNARY_FLOATS:
        v.notes.append("its float weights must be ternary; each layer is checked as it is converted")
    v.convertible = not v.reasons
    v.output_bytes = estimate_output_bytes(n, target, plan.hp.n_vocab)
    hp = plan.hp
    _fit(v, hp.n_layer, hp.n_head_kv, hp.head_dim, min(n_ctx, hp.n_ctx), available_ram)
    return v


def header_tensors(header: GGUFHeader) -> list[GTensor]:
    """gguf_header's tensor table (ggml dimension order, relative offsets) as the converter's GTensors."""
    return [GTensor(t.name, tuple(reversed(t.shape)), t.type_id, header.data_start + t.offset) for t in header.tensors]


def check_i2s(source: str, header: GGUFHeader, file_size: int, target: str = "tq2_0", n_ctx: int = 2048,
              available_ram: int | None = None) -> ConvertVerdict:
    """The verdict for a bitnet.cpp I2_S GGUF from its header (fetched locally or by HTTP ranges)."""
    v = ConvertVerdict(source, False, kind=P.I2S, download_bytes=file_size)
    tensors = header_tensors(header)
    try:
        plan = plan_i2s(header.metadata, tensors, file_size, source)
    except ConvertError as e:
        v.reasons.append(e.reason)
        return v
    v.arch = plan.arch
    v.reasons += plan.problems
    v.convertible = not v.reasons
    # an embedding the file holds quantized already is copied as it is; a float one is re-encoded
    roles = [(role if role != "embedding" or t.type_id in (0, 1, 30) else "other", math.prod(t.shape), _size(t) or 0)
             for _, t, role in plan.tensors]
    n_vocab = int(header.array_lengths.get("tokenizer.ggml.tokens", 0))
    v.output_bytes = estimate_output_bytes(roles, target, n_vocab)
    hp = plan.hp
    head_dim = int(header.metadata.get(f"{plan.src_arch}.rope.dimension_count") or hp["n_embd"] // hp["n_head"])
    ctx = int(header.metadata.get(f"{plan.src_arch}.context_length") or n_ctx)
    _fit(v, hp["n_layer"], hp["n_head_kv"], head_dim, min(n_ctx, ctx), available_ram)
    return v


def check_local(path: str | Path, target: str = "tq2_0", n_ctx: int = 2048,
                available_ram: int | None = None) -> ConvertVerdict:
    """The verdict for a local folder or .gguf file (headers only; the tokenizer is read in full)."""
    from backend.models.convert.hf_source import read_headers, weight_files
    from backend.models.convert.vocab import vocab_from_folder
    from backend.models.gguf_header import HeaderError, read_header

    p = Path(path).expanduser()
    source = str(p)
    if p.is_file():
        try:
            return check_i2s(source, read_header(p), p.stat().st_size, target, n_ctx, available_ram)
        except HeaderError as e:
            return ConvertVerdict(source, False, reasons=[e.reason])
    try:
        config = P.read_config(p, source)
        files = weight_files(p, source)
        tensors = read_headers(files, source)
    except ConvertError as e:
        return ConvertVerdict(source, False, reasons=[e.reason])
    headers = {f.name: STFile(f.name, f.stat().st_size, 0, {n: t for n, t in tensors.items() if t.file == f.name}, {})
               for f in files}
    sizes = {q.name: q.stat().st_size for q in p.iterdir() if q.is_file()}
    v = check_safetensors(source, config, headers, list(sizes), sizes, target, n_ctx, available_ram)
    if v.convertible:
        try:
            vocab_from_folder(p, int(config.get("vocab_size") or 0), source)
        except ConvertError as e:
            v.reasons.append(e.reason)
            v.convertible = False
    return v
