"""A small byte-level BPE tokenizer in Hugging Face's `tokenizer.json` format, and a reference encoder.

`train` learns merges from a corpus the way GPT-2-style BPE does (most frequent adjacent pair first,
within pre-tokenized words); `tokenizer_json` writes the file a Llama-3-family repo ships (Split with
Llama-3's regex, then ByteLevel without its own regex; `ignore_merges`; added special tokens after the
base vocabulary). `encode` is the reference the tests hold llama.cpp to: added tokens matched
literally, the Llama-3 split, then whole-word lookup (`ignore_merges`) or merges by rank.

The Llama-3 split uses \\p{L} and \\p{N}, which Python's `re` lacks: `split` builds the two classes
from the characters of the text at hand (by Unicode category), exact for any input.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from backend.models.convert.vocab import LLAMA3_REGEX


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in for every byte (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


BYTE_CHARS = bytes_to_unicode()


def _class(text: str, prefix: str) -> str:
    chars = sorted({c for c in text if unicodedata.category(c).startswith(prefix)}) or ["\ue000"]
    return "".join(re.escape(c) for c in chars)


def split(text: str) -> list[str]:
    """Llama-3's pre-tokenizer split of `text`."""
    ln = _class(text, "L") + _class(text, "N")
    pattern = (LLAMA3_REGEX.replace(r"[^\r\n\p{L}\p{N}]", "[^\r\n" + ln + "]")
               .replace(r"[^\s\p{L}\p{N}]", "[^\\s" + ln + "]")
               .replace(r"\p{L}", "[" + _class(text, "L") + "]").replace(r"\p{N}", "[" + _class(text, "N") + "]"))
    return [m.group(0) for m in re.finditer(pattern, text)]


def to_symbols(piece: str) -> str:
    return "".join(BYTE_CHARS[b] for b in piece.encode("utf-8"))


def train(corpus: str, n_merges: int) -> list[tuple[str, str]]:
    words = Counter(tuple(to_symbols(p)) for p in split(corpus))
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:], strict=False):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged: Counter[tuple[str, ...]] = Counter()
        for word, count in words.items():
            merged[_merge(word, best)] += count
        words = merged
    return merges


def _merge(word: tuple[str, ...], pair: tuple[str, str]) -> tuple[str, ...]:
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            out.append(word[i] + word[i + 1])
            i += 2
        else:
            out.append(word[i])
            i += 1
    return tuple(out)


class Tokenizer:
    def __init__(self, merges: list[tuple[str, str]], specials: list[str]) -> None:
        self.merges = merges
        self.vocab: dict[str, int] = {}
        for c in BYTE_CHARS.values():
            self.vocab.setdefault(c, len(self.vocab))
        for a, b in merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.specials = {s: len(self.vocab) + i for i, s in enumerate(specials)}
        self.ranks = {m: i for i, m in enumerate(merges)}

    @property
    def size(self) -> int:
        return len(self.vocab) + len(self.specials)

    def tokens(self) -> list[str]:
        return [*self.vocab, *self.specials]

    def _bpe(self, piece: str) -> list[int]:
        sym = to_symbols(piece)
        if sym in self.vocab:  # ignore_merges: a whole word in the vocabulary is one token
            return [self.vocab[sym]]
        word = tuple(sym)
        while len(word) > 1:
            ranked = [(self.ranks[p], p) for p in zip(word, word[1:], strict=False) if p in self.ranks]
            if not ranked:
                break
            word = _merge(word, min(ranked)[1])
        return [self.vocab[s] for s in word]

    def encode(self, text: str) -> list[int]:
        """Hugging Face's encoding of `text` (no BOS added): specials literal, then split and BPE."""
        if self.specials:
            parts = re.split("(" + "|".join(re.escape(s) for s in self.specials) + ")", text)
        else:
            parts = [text]
        ids: list[int] = []
        for part in parts:
            if part in self.specials:
                ids.append(self.specials[part])
            elif part:
                for piece in split(part):
                    ids += self._bpe(piece)
        return ids

    def tokenizer_json(self, bos: str | None) -> dict:
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for s, i in self.specials.items()]
        post = None
        if bos:
            post = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                                            {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {bos: {"id": bos, "ids": [self.specials[bos]], "tokens": [bos]}}}
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": post,
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                      "vocab": self.vocab, "merges": [[a, b] for a, b in self.merges]},
        }


CORPUS = (
    "The quick brown fox jumps over the lazy dog. It's a test, isn't it? Yes: the model answers questions "
    "and the user asks them. Hello world! Hello there, how are you today? I am fine, thank you. "
    "Numbers like 1234 and 3.14 and 42 appear too; so do (parentheses), [brackets] and \"quotes\". "
    "Naïve café, résumé, façade, über, jalapeño — and 日本語 or 中文 sometimes, even emoji 😀. "
    "User: what is ternary? Assistant: weights in minus one, zero and one.\n\nNew lines\tand tabs.\n"
) * 3
