"""A variant pair for the comparison: a ternary variant and its F16 variant, checked to match.

The F16 variant is found through the registry (the same model's F16 variant), else next to the
ternary file (the same name with the encoding swapped). The two headers must describe the same
network — architecture, hyper-parameters, every tensor's name and shape — or the pair is
refused with the first differences named. Whether the two hold the *same weights* is claimed
only when Tern knows it (one was derived from the other, or both are synthetic from one seed);
otherwise the comparison says the weights are not verified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from backend.errors import ModelFileError, TernError
from backend.models.gguf_header import TERNARY_TYPES, GGUFHeader, HeaderError, read_header
from backend.models.registry import Registry, Variant

TERNARY, F16 = "ternary", "f16"
FLOAT_ENCODINGS = {"F16", "BF16", "F32"}
HYPER = ("block_count", "embedding_length", "feed_forward_length", "attention.head_count",
         "attention.head_count_kv", "context_length")


class PairError(TernError):
    def __init__(self, message: str, hint: str = "", code: str = "bad_pair") -> None:
        super().__init__(message, hint)
        self.code = code


@dataclass
class SideSpec:
    role: str  # TERNARY | F16
    path: Path
    encoding: str
    model_name: str
    file_bytes: int
    n_params: int
    architecture: str
    synthetic: bool
    shape_name: str | None  # synthetic shape (tern.shape), e.g. "700M"
    seed: int | None  # synthetic seed (tern.seed)
    variant: Variant | None
    header: GGUFHeader

    @property
    def title(self) -> str:
        return f"{self.encoding} · {self.model_name}"


@dataclass
class Pair:
    ternary: SideSpec
    f16: SideSpec
    same_weights: bool
    weights_note: str  # how Tern knows, or why it does not
    registry: Registry | None = field(default=None, repr=False, compare=False)  # where the variants are recorded

    @property
    def sides(self) -> dict[str, SideSpec]:
        return {TERNARY: self.ternary, F16: self.f16}

    @property
    def synthetic(self) -> bool:
        return self.ternary.synthetic and self.f16.synthetic


def header_of(path: Path) -> GGUFHeader:
    if not path.is_file():
        raise ModelFileError(path, "the file does not exist", code="not_found")
    try:
        return read_header(path)
    except HeaderError as e:
        raise ModelFileError(path, e.reason, code="not_gguf") from e


def side_spec(role: str, path: Path, header: GGUFHeader, variant: Variant | None) -> SideSpec:
    meta = header.metadata
    synthetic = bool(meta.get("tern.synthetic", False))
    seed = meta.get("tern.seed")
    if variant:
        name = variant.model_name
    elif synthetic:
        name = f"synthetic {meta.get('tern.shape', '')}".strip()  # the header's name carries the long label
    else:
        name = header.name or path.stem
    return SideSpec(role, path.resolve(), header.encoding, name, path.stat().st_size, header.n_params,
                    header.architecture, synthetic, meta.get("tern.shape"), None if seed is None else int(seed),
                    variant, header)


def mismatches(a: GGUFHeader, b: GGUFHeader, limit: int = 3) -> list[str]:
    """What makes two headers different networks (empty if they describe the same one)."""
    if a.architecture != b.architecture:
        return [f"architecture {a.architecture} vs {b.architecture}"]
    out = []
    for key in HYPER:
        va, vb = a.arch_value(key), b.arch_value(key)
        if va != vb:
            out.append(f"{key.replace('_', ' ')} {va} vs {vb}")
    va, vb = a.array_lengths.get("tokenizer.ggml.tokens"), b.array_lengths.get("tokenizer.ggml.tokens")
    if va != vb:
        out.append(f"vocabulary {va} vs {vb} tokens")
    ta = {t.name: t.shape for t in a.tensors}
    tb = {t.name: t.shape for t in b.tensors}
    only_a, only_b = sorted(ta.keys() - tb.keys()), sorted(tb.keys() - ta.keys())
    if only_a or only_b:
        out.append(f"tensors only in one file: {', '.join((only_a + only_b)[:3])}")
    out += [f"tensor {n} is {ta[n]} vs {tb[n]}" for n in sorted(ta.keys() & tb.keys()) if ta[n] != tb[n]]
    return out[:limit]


def weights_relation(t: SideSpec, f: SideSpec) -> tuple[bool, str]:
    if t.synthetic and f.synthetic and t.seed is not None and t.seed == f.seed and t.shape_name == f.shape_name:
        return True, f"same weights: both synthetic from seed {t.seed} (random ternary weights)"
    tv, fv = t.variant, f.variant
    for a, b in ((fv, t), (tv, f)):  # a derived from b?
        if a is None:
            continue
        if a.derived_from_path and Path(a.derived_from_path).resolve() == b.path:
            return True, f"same weights: {a.encoding} derived from the {b.encoding} file"
        if a.derived_from_sha256 and b.variant and b.variant.sha256 == a.derived_from_sha256:
            return True, f"same weights: {a.encoding} derived from the {b.encoding} file (sha256 checked)"
    return False, "same network shape, but Tern cannot confirm the two files hold the same weights"


def twin_candidates(path: Path) -> list[Path]:
    """Files next to a ternary file named like it with the encoding swapped for F16."""
    pat = re.compile(r"tq[12]_0", re.IGNORECASE)
    if not pat.search(path.name):
        return []
    out = []
    for enc in ("F16", "f16"):
        cand = path.with_name(pat.sub(enc, path.name))
        if cand != path and cand.is_file():
            out.append(cand)
    return out


def find_f16(registry: Registry | None, ternary: Path) -> tuple[Path, Variant | None] | None:
    if registry is not None:
        v = registry.variant_by_path(ternary)
        if v is not None:
            model = registry.find(v.model_name)
            f16 = model.variant("F16") if model else None
            if f16 is not None:
                return f16.path, f16
    for cand in twin_candidates(ternary):
        return cand, registry.variant_by_path(cand) if registry else None
    return None


def resolve_pair(registry: Registry | None, ternary: str | Path, f16: str | Path | None = None) -> Pair:
    """The pair to compare; raises PairError (or MissingVariant, see `backend.bench.missing_variant`)."""
    t_path = Path(registry.resolve(ternary) if registry else ternary).expanduser().resolve()
    t_header = header_of(t_path)
    t_variant = registry.variant_by_path(t_path) if registry else None
    if t_header.encoding not in TERNARY_TYPES:
        raise PairError(f"{t_path.name} is {t_header.encoding}, not a ternary encoding (TQ1_0 or TQ2_0).",
                        "Name the ternary variant first, then (optionally) its F16 variant.", code="not_ternary")
    if f16 is None:
        found = find_f16(registry, t_path)
        if found is None:
            from backend.bench.missing_variant import MissingVariant, derive_offer

            raise MissingVariant(t_path, derive_offer(t_path, t_header), t_variant.model_name if t_variant else None)
        f_path, f_variant = found
    else:
        f_path = Path(registry.resolve(f16) if registry else f16).expanduser().resolve()
        f_variant = registry.variant_by_path(f_path) if registry else None
    f_header = header_of(f_path)
    if f_header.encoding not in FLOAT_ENCODINGS:
        raise PairError(f"{f_path.name} is {f_header.encoding}, not a floating-point encoding (F16).",
                        "The second model must be the F16 variant of the same weights.", code="not_float")
    diff = mismatches(t_header, f_header)
    if diff:
        raise PairError(
            f"{t_path.name} and {f_path.name} are not the same model in two encodings: {'; '.join(diff)}.",
            "Pick the F16 variant of this model, or derive one from the ternary file.", code="mismatch",
        )
    t = side_spec(TERNARY, t_path, t_header, t_variant)
    f = side_spec(F16, f_path, f_header, f_variant)
    same, note = weights_relation(t, f)
    return Pair(t, f, same, note, registry)
