"""The curated catalog of 1.58-bit models (data in `assets/catalog/catalog.json`).

The catalog states only what was checked (file listings, model cards, FACTS.md); anything else
reads "unknown — see the repo page". RAM figures are computed here, not stored: the Hub's listed
file size plus the KV cache at the chosen context (from the model's published dimensions, when
known) plus llama.cpp's runtime overhead — and labelled an estimate.

An entry with `runs: "convert"` is a source Tern converts on this computer (a packed or BF16
safetensors repo, a bitnet.cpp I2_S GGUF). Its size on disk and RAM are estimated from the model's
published dimensions (`dims`) with the converter's own rule (backend.models.convert.verdict), and its
disk need counts the download and the converted file, which are both on disk while it converts.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from backend import units
from backend.hub.names import filename_problem, printable, repo_problem
from backend.models.ram_fit import RamFit, kv_bytes, ram_fit

log = logging.getLogger("tern.hub")

UNKNOWN = "unknown — see the repo page"
DEFAULT_CTX = 2048


@dataclass(frozen=True)
class CatalogFile:
    name: str
    encoding: str
    size_text: str  # as the Hub lists it ("2.53 GB")
    approx_bytes: int | None
    default: bool = False
    model: str | None = None  # a different local model name for this file (other embeddings, …)
    note: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str  # the local model name downloads are registered under
    title: str
    family: str
    parameters: str
    license: str
    chat: bool | None
    repo: str
    runs: str  # "yes" | "check" (not verified here: inspect before downloading)
    files: tuple[CatalogFile, ...]
    fp16: str
    kv: dict[str, Any] | None
    notes: dict[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    split: bool = False
    kind: str = "gguf"  # what the repo holds: "gguf" (runs as published), "packed", "bf16" or "i2_s" (converted)
    dims: dict[str, Any] | None = None  # a converted model's published dimensions (n_layer, n_embd, …, source)

    @property
    def converted(self) -> bool:
        """Tern converts this repo's weights on this computer (they do not run as published)."""
        return self.runs == "convert"

    @property
    def default_file(self) -> CatalogFile:
        return next((f for f in self.files if f.default), self.files[0])

    def model_name_for(self, filename: str) -> str:
        f = next((f for f in self.files if f.name == filename), None)
        return (f.model if f and f.model else None) or self.name

    def kv_bytes(self, n_ctx: int = DEFAULT_CTX) -> int | None:
        """F16 K and V cache at `n_ctx` from the published dimensions; None when they are unknown."""
        kv = self.kv or self.dims
        if not kv:
            return None
        ctx = min(n_ctx, int(kv.get("context_length") or n_ctx))
        return kv_bytes(int(kv["n_layer"]), int(kv["n_head_kv"]), int(kv["head_dim"]), ctx)

    def output_bytes(self, target: str = "tq2_0") -> int | None:
        """A converted model's size on disk, from its published dimensions; None when they are unknown."""
        if not (self.converted and self.dims):
            return None
        from backend.models.convert.verdict import estimate_output_bytes

        d = self.dims
        embd, ff, hd = int(d["n_embd"]), int(d["n_ff"]), int(d["head_dim"])
        q, kv = int(d["n_head"]) * hd, int(d["n_head_kv"]) * hd
        linear = [q * embd, kv * embd, kv * embd, embd * q, ff * embd, ff * embd, embd * ff]
        norms = [embd, embd, *([embd, ff] if d.get("arch") == "bitnet" else [])]
        tensors = [("embedding", int(d["n_vocab"]) * embd, 0), ("norm", embd, 4 * embd)]
        tensors += [] if d.get("tied") else [("head", int(d["n_vocab"]) * embd, 0)]
        for _ in range(int(d["n_layer"])):
            tensors += [("linear", n, 0) for n in linear] + [("norm", n, 4 * n) for n in norms]
        return estimate_output_bytes(tensors, target, int(d["n_vocab"]))

    def disk_bytes(self, f: CatalogFile | None = None) -> int | None:
        """The most disk the model takes at once: the download, plus the converted file while it is made."""
        download = self.weights_bytes(f)
        if not self.converted:
            return download
        out = self.output_bytes()
        return None if download is None or out is None else download + out

    def weights_bytes(self, f: CatalogFile | None = None) -> int | None:
        """The listed bytes of one file, or of every part for a split model."""
        if self.split:
            sizes = [p.approx_bytes for p in self.files]
            return sum(s for s in sizes if s) if all(sizes) else None
        return (f or self.default_file).approx_bytes

    def ram(self, f: CatalogFile | None = None, n_ctx: int = DEFAULT_CTX,
            available: int | None = None) -> RamFit | None:
        """Estimated RAM to run `f` at `n_ctx` (weights + KV + overhead); None when KV size is unknown.
        For a converted model the weights are the converted file's."""
        weights = self.output_bytes() if self.converted else self.weights_bytes(f)
        kv = self.kv_bytes(n_ctx)
        if weights is None or kv is None:
            return None
        return ram_fit(weights, kv, available)

    def ram_text(self, f: CatalogFile | None = None, n_ctx: int = DEFAULT_CTX) -> str:
        fit = self.ram(f, n_ctx)
        if fit is None:
            w = self.weights_bytes(f)
            floor = f" — at least {w / 1e9:.2f} GB for the weights" if w else ""
            return f"unknown until the header is read (`tern models inspect`){floor}"
        what = ("the converted file's size from the published dimensions" if self.converted
                else "the Hub's listed size")
        return (f"≈ {units.memory(fit.need_bytes)} (estimate: {what} + KV cache + runtime) — "
                f"{fit.verdict} in the {units.memory(fit.available_bytes)} available now")

    def to_dict(self, n_ctx: int = DEFAULT_CTX) -> dict[str, Any]:
        files = []
        for f in self.files:
            fit = self.ram(f, n_ctx)
            files.append({"name": f.name, "encoding": f.encoding, "size_text": f.size_text,
                          "approx_bytes": f.approx_bytes, "default": f.default, "model": self.model_name_for(f.name),
                          "note": f.note, "ram_need_bytes": fit.need_bytes if fit else None,
                          "ram_verdict": fit.verdict if fit else None, "ram_text": self.ram_text(f, n_ctx)})
        return {"id": self.id, "name": self.name, "title": self.title, "family": self.family,
                "parameters": self.parameters, "license": self.license, "chat": self.chat, "repo": self.repo,
                "runs": self.runs, "kind": self.kind, "fp16": self.fp16, "n_ctx": n_ctx, "files": files,
                "notes": self.notes, "sources": list(self.sources), "split": self.split,
                "converted_bytes": self.output_bytes(), "disk_bytes": self.disk_bytes()}


@dataclass(frozen=True)
class Incompatible:
    repo: str
    title: str
    reason: str
    license: str


@dataclass(frozen=True)
class Catalog:
    entries: tuple[CatalogEntry, ...]
    incompatible: tuple[Incompatible, ...]
    about: str

    def entry(self, key: str) -> CatalogEntry | None:
        k = key.lower()
        return next((e for e in self.entries if k in (e.id.lower(), e.repo.lower())), None)

    def for_file(self, repo: str, filename: str) -> CatalogEntry | None:
        repo_l = repo.lower()
        return next((e for e in self.entries
                     if e.repo.lower() == repo_l and any(f.name == filename for f in e.files)), None)

    def incompatibility(self, repo: str) -> Incompatible | None:
        for bad in self.incompatible:
            pattern = "^" + re.escape(bad.repo).replace(r"\*", ".*") + "$"
            if re.match(pattern, repo, re.IGNORECASE):
                return bad
        return None


def _entry(d: dict[str, Any]) -> CatalogEntry:
    files = tuple(CatalogFile(f["name"], f["encoding"], f.get("size_text") or UNKNOWN, f.get("approx_bytes"),
                              bool(f.get("default")), f.get("model"), f.get("note", "")) for f in d["files"])
    notes = {k: str(v) for k, v in d.items() if k.endswith("_note")}
    return CatalogEntry(d["id"], d["name"], d.get("title", d["name"]), d.get("family") or UNKNOWN,
                        d.get("parameters") or UNKNOWN, d.get("license") or UNKNOWN, d.get("chat"), d["repo"],
                        d.get("runs", "check"), files, d.get("fp16") or UNKNOWN, d.get("kv"), notes,
                        tuple(d.get("sources", ())), bool(d.get("split")), d.get("kind", "gguf"), d.get("dims"))


_LOCAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")


def entry_problem(d: dict[str, Any]) -> str | None:
    """Why a catalog entry cannot be offered — its repo id, file names or local names would not be
    safe as paths — or None. The catalog is data like a Hub answer: checked the same way."""
    problem = repo_problem(d.get("repo"))
    if problem:
        return f"repo {printable(d.get('repo'))}: {problem}"
    files = d.get("files")
    if not isinstance(files, list) or not files:
        return "it lists no files"
    names = [d.get("name"), *(f.get("model") for f in files if isinstance(f, dict) and f.get("model"))]
    for name in names:
        if not isinstance(name, str) or not _LOCAL_NAME.fullmatch(name) or ".." in name:
            return f"local model name {printable(name)} is not letters, digits, '.', '-' and '_'"
    for f in files:
        problem = filename_problem(f.get("name")) if isinstance(f, dict) else "not a file record"
        if problem:
            return f"file {printable(f.get('name') if isinstance(f, dict) else f)}: {problem}"
        size = f.get("approx_bytes")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            return f"file {printable(f['name'])}: approx_bytes is not a byte count"
    dims = d.get("dims")
    if dims is not None:
        keys = ("n_layer", "n_embd", "n_ff", "n_head", "n_head_kv", "head_dim", "n_vocab")
        if not isinstance(dims, dict) or not all(isinstance(dims.get(k), int) and dims[k] > 0 for k in keys):
            return "dims lacks a positive n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim or n_vocab"
    if d.get("runs", "check") not in ("yes", "check", "convert"):
        return f"runs is {printable(d.get('runs'))}, not yes, check or convert"
    return None


def parse_catalog(data: dict[str, Any]) -> Catalog:
    """The catalog from its JSON; an entry that fails `entry_problem` is left out (and logged)."""
    entries = []
    for d in data.get("models", []):
        problem = entry_problem(d) if isinstance(d, dict) else "not an object"
        if problem:
            log.warning("catalog entry %s left out: %s", printable(d.get("id") if isinstance(d, dict) else d), problem)
            continue
        entries.append(_entry(d))
    bad = tuple(Incompatible(b["repo"], b.get("title", b["repo"]), b["reason"], b.get("license") or UNKNOWN)
                for b in data.get("incompatible", []))
    return Catalog(tuple(entries), bad, data.get("about", ""))


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The bundled catalog (read through importlib.resources, so a frozen bundle finds it)."""
    text = resources.files("assets.catalog").joinpath("catalog.json").read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))


_ENC_TAIL = re.compile(r"[-_.](?:TQ1_0|TQ2_0|I2_S|IQ2_TN|F16|BF16|F32|Q\d_K(?:_[SML])?|Q\d_\d|IQ\d\w*|quant)"
                       r"(?![A-Za-z0-9]).*$", re.IGNORECASE)
_SPLIT_TAIL = re.compile(r"-\d{5}-of-\d{5}$")  # (safetensors shards are named the same way)


def guess_model_name(repo: str, filename: str) -> str:
    """A local name for a file outside the catalog: the file's stem without its encoding or part number.

    `Llama3-8B-1.58-100B-tokens-TQ2_0.gguf` → `llama3-8b-1.58-100b-tokens`; files of one model in
    different encodings get the same name, so they become variants of one model.
    """
    stem = filename.rsplit("/", 1)[-1]
    for ext in (".gguf", ".safetensors"):
        stem = stem[: -len(ext)] if stem.lower().endswith(ext) else stem
    stem = _SPLIT_TAIL.sub("", stem)
    base = _ENC_TAIL.sub("", stem) or stem
    if base.lower() in ("ggml-model", "model", "") or len(base) < 3:
        base = repo.rsplit("/", 1)[-1]
        base = re.sub(r"[-_]gguf$", "", base, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9.]+", "-", base.lower()).strip("-")


def model_name_for(repo: str, filename: str) -> str:
    entry = load_catalog().for_file(repo, filename)
    return entry.model_name_for(filename) if entry else guess_model_name(repo, filename)
