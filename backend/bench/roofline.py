"""The memory roofline of decoding: what one token reads, and how close a measured speed comes to the limit.

Decoding one token runs every layer once, so it reads every layer's weights (linear weights, their
`.scale` tensors, norms), the final norm and the whole output head — the token embedding matrix when
the head is tied, which for a large vocabulary is more bytes than all the ternary layers. Of an untied
model's token embeddings it reads one row. All of it comes from the GGUF header (tensor types and
shapes); no weight is read. The KV cache is not counted: it is read too, but grows with the context
(at short contexts it is small next to the weights), so the figure is "weights read per token".

GB/s achieved = decode tok/s × weight bytes per token: the rate the weights stream at, a lower bound
of the memory traffic. Its share of this machine's bandwidth (backend.bench.bandwidth) says how close
a side comes to the memory limit. The ideal ternary/F16 ratio for weight streaming is 16 / the
ternary encoding's bits per weight (TQ2_0: 7.8×, TQ1_0: 9.5×); the file-based ideal is the F16 side's
bytes per token over the ternary side's, which counts what both sides read alike (the head, norms).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import units
from backend.models.gguf_header import GGML_TYPES, GGUFHeader, HeaderError, read_header

F16_BITS = 16.0
HEAD_NAMES = ("output.weight",)


def bits_per_weight(type_name: str) -> float | None:
    """Bits a weight takes in ggml's encoding `type_name` (TQ2_0: 2.0625, F16: 16), None if unknown."""
    for name, block, size in GGML_TYPES.values():
        if name == type_name:
            return 8.0 * size / block
    return None


@dataclass(frozen=True)
class WeightTraffic:
    """Bytes of weights one decoded token reads, by part, from a GGUF header."""

    total: int
    layers: int  # every blk.* tensor: linear weights, their scales, norms
    head: int  # the output head (the token embeddings when tied)
    other: int  # final norm, one row of untied token embeddings, anything else outside the layers
    head_type: str  # "F16", "Q6_K", …
    head_tied: bool
    linear_type: str  # the encoding of the bulk of the weights ("TQ2_0", "F16", …)

    def gb_per_s(self, tokens_per_s: float | None) -> float | None:
        """GB/s the weights stream at when decoding at `tokens_per_s`."""
        return tokens_per_s * self.total / 1e9 if tokens_per_s else None

    def to_dict(self) -> dict[str, object]:
        return {"total": self.total, "layers": self.layers, "head": self.head, "other": self.other,
                "head_type": self.head_type, "head_tied": self.head_tied, "linear_type": self.linear_type}


def _type_bytes(type_id: int, n_elements: int) -> int:
    known = GGML_TYPES.get(type_id)
    if known is None:
        raise ValueError(f"tensor type {type_id} is unknown to Tern, so its size is unknown")
    _, block, size = known
    return n_elements // block * size


def weight_traffic(header: GGUFHeader) -> WeightTraffic:
    """What a decode step reads; raises ValueError when a tensor's encoding (hence its size) is unknown."""
    names = {t.name for t in header.tensors}
    has_head = any(n in names for n in HEAD_NAMES)
    layers = head = other = 0
    head_type = ""
    for t in header.tensors:
        nbytes = _type_bytes(t.type_id, t.n_elements)
        if t.name.startswith("blk."):
            layers += nbytes
        elif t.name in HEAD_NAMES or (t.name == "token_embd.weight" and not has_head):
            head += nbytes
            head_type = t.type_name
        elif t.name == "token_embd.weight":
            rows = t.shape[-1] if len(t.shape) >= 2 else 1  # ggml order: (n_embd, n_vocab)
            other += nbytes // max(1, rows)
        else:
            other += nbytes
    return WeightTraffic(layers + head + other, layers, head, other, head_type or "—", not has_head,
                         header.encoding)


def traffic_of(path: str | Path) -> tuple[WeightTraffic | None, str]:
    """(the traffic, "") or (None, why it is unavailable) for the GGUF at `path`."""
    try:
        return weight_traffic(read_header(Path(path))), ""
    except (HeaderError, OSError) as e:
        return None, f"its header could not be read ({getattr(e, 'reason', e)})"
    except ValueError as e:
        return None, str(e)


def ideal_ratio(ternary_type: str) -> float | None:
    """The weight-streaming ideal: F16's 16 bits over the ternary encoding's bits per weight."""
    bits = bits_per_weight(ternary_type)
    return F16_BITS / bits if bits else None


def file_ideal_ratio(ternary: WeightTraffic, f16: WeightTraffic) -> float:
    """The ideal for these two files: bytes per token of the F16 side over the ternary side's."""
    return f16.total / ternary.total if ternary.total else 0.0


def side_roofline(header: GGUFHeader | None, decode_tps: float | None, bandwidth_gbs: float | None) -> dict[str, Any]:
    """One side's figures: weight bytes per token (and the head's), GB/s at `decode_tps`, share of the
    machine's bandwidth; a figure that cannot be had is None with its reason under `why_<key>`."""
    out: dict[str, Any] = {"bytes_per_token": None, "head_type": None, "head_bytes": None, "head_tied": None,
                           "linear_type": None, "decode_tps": decode_tps, "gb_per_s": None, "share": None}
    try:
        if header is None:
            raise ValueError("the model file's header is not available")
        t = weight_traffic(header)
    except ValueError as e:
        out["why_bytes_per_token"] = out["why_gb_per_s"] = out["why_share"] = str(e)
        return out
    out.update(bytes_per_token=t.total, head_type=t.head_type, head_bytes=t.head, head_tied=t.head_tied,
               linear_type=t.linear_type)
    gbs = t.gb_per_s(decode_tps)
    if gbs is None:
        out["why_gb_per_s"] = out["why_share"] = "no decode speed was measured"
        return out
    out["gb_per_s"] = gbs
    if bandwidth_gbs:
        out["share"] = gbs / bandwidth_gbs
    else:
        out["why_share"] = "this machine's bandwidth is not measured yet (a benchmark measures it once)"
    return out


def run_roofline(headers: dict[str, GGUFHeader | None], decode_tps: dict[str, float | None],
                 bandwidth: Any | None, ternary: str = "ternary", f16: str = "f16") -> dict[str, Any]:
    """The roofline of a run: both sides (`side_roofline`), this machine's bandwidth and how it was
    obtained, and the ideal ternary/F16 decode ratios next to the measured one."""
    gbs = bandwidth.gb_per_s if bandwidth is not None else None
    sides = {role: side_roofline(headers.get(role), decode_tps.get(role), gbs) for role in (ternary, f16)}
    tq, fp = sides[ternary], sides[f16]
    ideal = ideal_ratio(tq["linear_type"]) if tq["linear_type"] else None
    file_ideal = (fp["bytes_per_token"] / tq["bytes_per_token"]
                  if tq["bytes_per_token"] and fp["bytes_per_token"] else None)
    measured = (tq["decode_tps"] / fp["decode_tps"]) if tq["decode_tps"] and fp["decode_tps"] else None
    return {"sides": sides, "bandwidth_gbs": gbs,
            "bandwidth_how": bandwidth.how if gbs else "not measured yet (a benchmark measures it once)",
            "ideal_ratio": ideal, "ideal_bits": bits_per_weight(tq["linear_type"] or ""),
            "file_ideal_ratio": file_ideal, "measured_ratio": measured}


def streaming_figures(s: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """A side's GB/s achieved and share of bandwidth as text, each with why it is missing (None when it is not):
    {"gb_per_s": ("33.0 GB/s", None), "share": ("—", "this machine's bandwidth is not measured yet …")}."""
    gbs, share = s.get("gb_per_s"), s.get("share")
    return {"gb_per_s": (units.rate(gbs * 1e9), None) if gbs is not None
            else (units.DASH, s.get("why_gb_per_s", "not measured")),
            "share": (f"{share:.0%}", None) if share is not None else (units.DASH, s.get("why_share", "not measured"))}


def side_text(s: dict[str, Any], encoding: str) -> str:
    """'TQ2_0 reads 275 MB of weights per token (output head Q6_K, 67 MB): 15.1 GB/s at 55.0 tok/s,
    35 % of this machine's bandwidth'."""
    if s.get("bytes_per_token") is None:
        return f"{encoding}: weights per token {units.DASH} ({s.get('why_bytes_per_token', 'unknown')})"
    head = (f"output head {s['head_type']}{' (tied)' if s.get('head_tied') else ''}, {units.size(s['head_bytes'])}")
    text = f"{encoding} reads {units.size(s['bytes_per_token'])} of weights per token ({head})"
    if s.get("gb_per_s") is None:
        return f"{text}; GB/s {units.DASH} ({s.get('why_gb_per_s', '')})"
    text += f": {units.rate(s['gb_per_s'] * 1e9)} at {units.tps(s['decode_tps'])}"
    if s.get("share") is None:
        return f"{text}; share of bandwidth {units.DASH} ({s.get('why_share', '')})"
    return f"{text}, {s['share']:.0%} of this machine's bandwidth"


def ideal_text(r: dict[str, Any]) -> str:
    """'ideal decode ratio 7.8× (16 ÷ 2.06 bits per weight) · for these files 4.6× (F16 reads … ) · measured 2.3×'."""
    parts = []
    if r.get("ideal_ratio"):
        parts.append(f"ideal decode ratio {units.times(r['ideal_ratio'])} (16 ÷ {r['ideal_bits']:.4g} bits per "
                     "ternary weight, weights alone)")
    else:
        parts.append(f"ideal decode ratio {units.DASH} (the ternary side's encoding is not known)")
    if r.get("file_ideal_ratio"):
        parts.append(f"for these two files {units.times(r['file_ideal_ratio'])} (F16 side's bytes per token ÷ the "
                     "ternary side's, head and norms included)")
    parts.append(f"measured {units.times(r.get('measured_ratio'))}")
    return " · ".join(parts)


def bandwidth_text(r: dict[str, Any]) -> str:
    if not r.get("bandwidth_gbs"):
        return f"this machine's bandwidth: {units.DASH} ({r.get('bandwidth_how')})"
    return f"this machine's bandwidth: {units.rate(r['bandwidth_gbs'] * 1e9)} ({r.get('bandwidth_how')})"
