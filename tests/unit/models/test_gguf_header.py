from __future__ import annotations

from pathlib import Path

import pytest

from backend.models.gguf_header import FileSource, HeaderError, NeedMoreData, parse_header, read_header
from backend.models.synth import SHAPES


def test_header_describes_the_synthetic_model(tiny_models: dict[str, Path]) -> None:
    shape = SHAPES["tiny"]
    for enc, path in tiny_models.items():
        h = read_header(path)
        assert h.architecture == "bitnet"
        assert h.context_length == shape.n_ctx
        norms = shape.n_layer * (3 * shape.n_embd + shape.n_ff) + shape.n_embd
        assert h.n_params == shape.n_params + norms
        assert h.encoding == enc.upper()
        assert h.expected_file_size == path.stat().st_size
        assert h.metadata["tern.synthetic"] is True
        assert h.array_lengths["tokenizer.ggml.tokens"] == shape.n_vocab
        assert "<|assistant|>" in (h.chat_template or "")


def test_header_reads_only_what_it_needs(tiny: Path) -> None:
    """Inspection over a ranged source stops at the end of the tensor table."""
    data = tiny.read_bytes()
    reads: list[tuple[int, int]] = []

    class Counting:
        def read_at(self, offset: int, size: int) -> bytes:
            reads.append((offset, size))
            return data[offset : offset + size]

    h = parse_header(Counting(), chunk=64 * 1024)
    touched = max(o + min(s, len(data) - o) for o, s in reads)
    assert touched < h.header_end + 64 * 1024
    assert h.header_end < len(data)


def test_partial_source_asks_for_more(tiny: Path) -> None:
    data = tiny.read_bytes()[:5000]

    class Short:
        def read_at(self, offset: int, size: int) -> bytes:
            return data[offset : offset + size]

    with pytest.raises(NeedMoreData):
        parse_header(Short(), chunk=1024)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"PK\x03\x04 this is a zip", "not a GGUF"), (b"GGUF\x09\x00\x00\x00" + b"\0" * 16, "version 9")],
)
def test_not_gguf(tmp_path: Path, content: bytes, reason: str) -> None:
    p = tmp_path / "x.gguf"
    p.write_bytes(content)
    with pytest.raises(HeaderError, match=reason):
        read_header(p)


def test_file_source_closes(tiny: Path) -> None:
    src = FileSource(tiny)
    assert src.read_at(0, 4) == b"GGUF"
    src.close()


def test_type_table_matches_gguf() -> None:
    """The inlined table (kept so a header check needs no numpy) agrees with the gguf package."""
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    from backend.models.gguf_header import GGML_TYPES

    for t in GGMLQuantizationType:
        assert GGML_TYPES[t.value] == (t.name, *GGML_QUANT_SIZES[t]), t
