"""Damaged model files (a corpus made from the tiny model at test time): one clear message, never a traceback.

Every case goes through the header reader, the RAM fit and preflight (what `tern generate`, the Library and
the Hub check run before llama.cpp sees a file); each must end in a result or in the one error type that
names the file, within a few seconds. The real CLI runs a sample in tests/e2e/test_damaged_models_cli.py.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.errors import ModelFileError
from backend.hub.remote import inspect_local
from backend.models.checks import preflight
from backend.models.gguf_header import HeaderError, NeedMoreData, parse_header, read_header
from backend.models.ram_fit import kv_cache_bytes, ram_fit
from tests.support.gguf_fuzz import corpus

CASE_SECONDS = 10  # a case is a few milliseconds; this only turns a hang into a failure
CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}


@contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    def expire(*_: object) -> None:
        raise TimeoutError(f"{what} took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def cases(tiny_models: dict[str, Path]) -> list[tuple[str, bytes]]:
    return corpus(tiny_models["tq2_0"].read_bytes(), seed=11)


def test_corpus_is_large_and_varied(cases: list[tuple[str, bytes]]) -> None:
    kinds = {name.split()[0] for name, _ in cases}
    assert len(cases) >= 150
    assert {"value", "type", "added", "tensor", "random", "truncated", "TQ2_0"} <= kinds


def test_every_damaged_file_gets_a_message_naming_it(cases: list[tuple[str, bytes]], tmp_path: Path) -> None:
    refused = accepted = 0
    for i, (name, data) in enumerate(cases):
        path = tmp_path / f"case-{i:03d}.gguf"
        path.write_bytes(data)
        t0 = time.monotonic()
        with time_limit(CASE_SECONDS, name):
            try:
                header, fit = preflight(path)
            except ModelFileError as e:
                assert str(path) in str(e), (name, str(e))
                assert "Traceback" not in str(e) and e.reason, name
                refused += 1
            else:
                accepted += 1
                assert fit.need_bytes >= len(data), name
                assert kv_cache_bytes(header, 4096) >= 0
            inspection = inspect_local(path)  # the Library's view of the same file: a verdict, never an exception
            assert inspection.verdict.text, name
        assert time.monotonic() - t0 < CASE_SECONDS
        path.unlink()
    assert refused > 100 and accepted > 10  # the corpus holds both: refusing everything would also pass


def test_header_reader_raises_only_its_own_errors(cases: list[tuple[str, bytes]], tmp_path: Path) -> None:
    """The reader alone, from a file and from a source that does not know its size (the Hub before its first
    answer): a header, HeaderError naming the problem, or NeedMoreData — nothing else."""

    class Unsized:
        def __init__(self, data: bytes) -> None:
            self.data = data

        def read_at(self, offset: int, size: int) -> bytes:
            return self.data[offset : offset + size]

    path = tmp_path / "case.gguf"
    for name, data in cases:
        path.write_bytes(data)
        with time_limit(CASE_SECONDS, name):
            for source in (None, Unsized(data)):
                try:
                    header = read_header(path) if source is None else parse_header(source, chunk=4096)
                except (HeaderError, NeedMoreData):
                    continue
                ram_fit(header.data_bytes or 0, kv_cache_bytes(header, 2048), available=1 << 40)
                assert header.split_count >= 1 and (header.context_length or 1) >= 1


def test_key_named_in_type_and_range_errors(cases: list[tuple[str, bytes]], tmp_path: Path) -> None:
    """The cases from the report: NaN/inf context_length, string split.count and general.alignment, NaN
    embedding_length, string key_length, a seek past 2^64 — each refused with the key named."""
    expected = {
        "type bitnet.context_length as f32 NaN": "bitnet.context_length",
        "type bitnet.context_length as f32 inf": "bitnet.context_length",
        "value bitnet.context_length=4294967295": "bitnet.context_length",
        "added split.count as string": "split.count",
        "added general.alignment as string": "general.alignment",
        "added general.alignment as u32 3": "general.alignment",
        "type bitnet.embedding_length as f32 NaN": "bitnet.embedding_length",
        "added bitnet.attention.key_length as string": "bitnet.attention.key_length",
        "scores count 2^63 (seek past 2^64)": "tokenizer.ggml.scores",
        "value bitnet.attention.layer_norm_rms_epsilon=nan": "layer_norm_rms_epsilon",
        "tensor row not a multiple of its block": "blk.0.attn_q.weight",
    }
    by_name = dict(cases)
    for name, key in expected.items():
        path = tmp_path / "case.gguf"
        path.write_bytes(by_name[name])
        with pytest.raises(ModelFileError) as err:
            preflight(path)
        assert key in str(err.value) and str(path) in str(err.value), (name, str(err.value))


def test_strings_from_the_file_carry_no_control_characters(cases: list[tuple[str, bytes]], tmp_path: Path) -> None:
    path = tmp_path / "evil.gguf"
    path.write_bytes(dict(cases)["name with escape sequences"])
    header = read_header(path)
    assert "evil" in header.name and "name" in header.name
    for text in [header.name, header.architecture, *header.metadata.keys(), *(t.name for t in header.tensors)]:
        assert not CONTROL & set(text), repr(text)
    for value in header.metadata.values():
        if isinstance(value, str):
            assert not (CONTROL - {"\n", "\t"}) & set(value), repr(value)
