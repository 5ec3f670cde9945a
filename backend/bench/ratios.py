"""Ternary vs F16 ratios, and the sentence a person reads across the top of the comparison.

Every ratio is oriented so that > 1 means the ternary side is better: decode and prefill speed
(TQ / F16 tokens per second), RAM, energy per token, time to first token and file size
(F16 / TQ). They are computed from the medians; a missing figure gives a missing ratio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from backend.bench.stats import Summary, ratio
from backend.units import times


@dataclass(frozen=True)
class Metric:
    key: str
    name: str
    unit: str
    higher_is_better: bool


METRICS: list[Metric] = [
    Metric("ttft_ms", "time to first token", "ms", False),
    Metric("prefill_tps", "prefill", "tok/s", True),
    Metric("decode_tps", "decode", "tok/s", True),
    Metric("peak_rss", "engine peak RSS", "bytes", False),
    Metric("j_per_token", "energy per token", "J/token", False),
]
METRIC = {m.key: m for m in METRICS}


@dataclass
class Ratios:
    decode: float | None = None
    prefill: float | None = None
    ttft: float | None = None
    ram: float | None = None  # engine peak RSS, F16 / TQ
    energy: float | None = None
    file: float | None = None  # weights file size, F16 / TQ

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ratios:
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__})


def _median(summaries: dict[str, Summary], key: str) -> float | None:
    s = summaries.get(key)
    return s.median if s else None


def compute(tq: dict[str, Summary], f16: dict[str, Summary], tq_file: int | None = None,
            f16_file: int | None = None) -> Ratios:
    return Ratios(
        decode=ratio(_median(tq, "decode_tps"), _median(f16, "decode_tps")),
        prefill=ratio(_median(tq, "prefill_tps"), _median(f16, "prefill_tps")),
        ttft=ratio(_median(f16, "ttft_ms"), _median(tq, "ttft_ms")),
        ram=ratio(_median(f16, "peak_rss"), _median(tq, "peak_rss")),
        energy=ratio(_median(f16, "j_per_token"), _median(tq, "j_per_token")),
        file=ratio(float(f16_file) if f16_file else None, float(tq_file) if tq_file else None),
    )


def phrase(value: float | None, better: str, worse: str, what: str) -> str | None:
    if value is None:
        return None
    if 0.98 <= value <= 1.02:
        return f"about the same {what} ({value:.2f}×)"
    if value >= 1:
        return f"{times(value)} {better} {what}"
    return f"{times(1 / value)} {worse} {what}"


def headline(r: Ratios, same_weights: bool) -> list[str]:
    """The parts of the sentence across the top, e.g. ['3.2× faster decode', '4.4× less RAM', …].

    A missing figure reads "—"; why it is missing is shown beside the sentence, not in it.
    """
    parts = [
        phrase(r.decode, "faster", "slower", "decode") or "decode speed: —",
        phrase(r.ram, "less", "more", "RAM") or "RAM: —",
    ]
    energy = phrase(r.energy, "less", "more", "energy per token")
    parts.append(energy or "energy per token: —")
    parts.append("same weights" if same_weights else "weights not verified identical")
    return parts
