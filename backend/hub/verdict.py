"""Will this GGUF run here? One verdict from a header, for a file on the Hub or on disk.

The wording is what a person sees next to a file before deciding to download it:
"runs here (TQ2_0)", "needs bitnet.cpp (I2_S) — not supported by llama.cpp",
"unsupported architecture (…)", "split model: N parts". A source Tern converts (a bitnet.cpp I2_S GGUF,
a ternary safetensors repo) gets `converts` — "runs here — converted on this computer (…)" — or
`not_convertible` with the reason, from `backend.hub.convert_check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gguf.constants import MODEL_ARCH_NAMES

from backend.models.gguf_header import I2_S_TYPE, TERNARY_TYPES, GGUFHeader, type_name

# Architecture names llama.cpp builds a graph for, from gguf-py (the converter side of the same
# project). Checked against the bundled libllama: every name is present there.
KNOWN_ARCHITECTURES = frozenset(MODEL_ARCH_NAMES.values())

RUNS, NEEDS_BITNET_CPP, UNSUPPORTED_ARCH, UNSUPPORTED_TYPE, INCOMPLETE = (
    "runs", "needs_bitnet_cpp", "unsupported_architecture", "unsupported_type", "incomplete")
CONVERTS, NOT_CONVERTIBLE = "converts", "not_convertible"


@dataclass(frozen=True)
class Verdict:
    code: str  # runs | converts | not_convertible | needs_bitnet_cpp | unsupported_architecture | …
    text: str
    encoding: str
    ternary: bool
    split_count: int = 1

    @property
    def runs(self) -> bool:
        """The file runs as published (no conversion)."""
        return self.code == RUNS

    @property
    def converts(self) -> bool:
        """Tern converts the source on this computer, and the result runs."""
        return self.code == CONVERTS

    @property
    def usable(self) -> bool:
        """Downloading it gives a model that runs here: as published, or once converted."""
        return self.code in (RUNS, CONVERTS)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "runs": self.runs, "converts": self.converts,
                "usable": self.usable, "encoding": self.encoding,
                "ternary": self.ternary, "split_count": self.split_count}


def verdict(header: GGUFHeader, file_size: int | None = None) -> Verdict:
    """The verdict for a file whose header is `header` and whose size (if known) is `file_size`."""
    enc = header.encoding
    ternary = enc in TERNARY_TYPES
    parts = header.split_count
    split_note = f" — split model: {parts} parts" if parts > 1 else ""
    if any(t.type_id == I2_S_TYPE for t in header.tensors):
        return Verdict(NEEDS_BITNET_CPP, "needs bitnet.cpp (I2_S) — not supported by llama.cpp", "I2_S", True,
                       parts)
    if header.architecture not in KNOWN_ARCHITECTURES:
        return Verdict(UNSUPPORTED_ARCH, f"unsupported architecture ({header.architecture})", enc, ternary, parts)
    unknown = header.unknown_types
    if unknown:
        names = ", ".join(type_name(t) for t in unknown)
        return Verdict(UNSUPPORTED_TYPE, f"unsupported tensor encoding ({names}) — not in this llama.cpp", enc,
                       ternary, parts)
    expected = header.expected_file_size
    if file_size is not None and expected is not None and file_size < expected and parts <= 1:
        return Verdict(INCOMPLETE, f"incomplete file: its tensors need {expected:,} bytes but it has "
                                   f"{file_size:,} (a byte-chunked upload?)", enc, ternary, parts)
    label = f"runs here ({enc})" if ternary else f"runs here ({enc}, not ternary)"
    return Verdict(RUNS, label + split_note, enc, ternary, parts)
