"""The converted vocabulary: llama.cpp splits text as the repo's own tokenizer does, knows the turn's end,
and carries the chat template — from tokenizer_config.json, chat_template.jinja, or (2B-4T's I2_S file,
whose template is broken) the right one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.engine.chat_format import ChatFormatter
from backend.models.convert import convert_file
from backend.models.convert.i2s import BITNET_2B_TEMPLATE
from backend.models.gguf_header import read_header
from tests.support import i2s_files as I
from tests.support import ternary_repos as R

TEXTS = [
    "Hello world! How are you today?",
    "It's a test, isn't it? (yes) -- [brackets] \"quotes\" 1234567 + 3.14",
    "naïve café, résumé — 日本語 😀 über jalapeño",
    "User: hi<|eot_id|>Assistant: hello<|eot_id|>",
    "  leading spaces\n\nnew lines\tand tabs  ",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("vocab")
    bitnet, llama = R.make_truth(R.Tiny(), 1), R.make_truth(R.Tiny(arch="llama", act="silu", tied=False), 2)
    sources = {
        "2b4t": R.packed_repo(root / "2b4t", bitnet, "autobitlinear"),
        "falcon": R.packed_repo(root / "falcon", llama, "bitlinear", R.LLAMA3_TEMPLATE, template_file=True),
        "2b4t-i2s": I.i2s_gguf(root / "2b4t.gguf", bitnet, "bitnet-b1.58"),
    }
    return {k: convert_file(src, root / "out" / f"{k}.gguf").path for k, src in sources.items()}


def _vocab(path: Path) -> Any:  # a llama_cpp.Llama (not imported at collection)
    import llama_cpp

    return llama_cpp.Llama(str(path), vocab_only=True, verbose=False)


@pytest.mark.parametrize("kind", ["2b4t", "2b4t-i2s"])
def test_llama_cpp_tokenizes_like_the_repos_tokenizer(files: dict[str, Path], kind: str) -> None:
    tok = R.tokenizer()
    llm = _vocab(files[kind])
    try:
        for text in TEXTS:
            want = tok.encode(text)
            assert llm.tokenize(text.encode(), add_bos=False, special=True) == want, text
            assert llm.detokenize(want, special=True).decode() == text
    finally:
        llm.close()


def test_the_end_of_turn_token_ends_generation(files: dict[str, Path]) -> None:
    import llama_cpp

    eot = R.tokenizer().specials["<|eot_id|>"]
    for path in files.values():
        assert read_header(path).metadata["tokenizer.ggml.eot_token_id"] == eot
        llm = _vocab(path)
        try:
            assert llama_cpp.llama_vocab_is_eog(llm._model.vocab, eot)
            assert not llama_cpp.llama_vocab_is_eog(llm._model.vocab, R.tokenizer().encode(" Hello")[0])
        finally:
            llm.close()


def test_chat_templates_come_along(files: dict[str, Path]) -> None:
    meta = {k: read_header(p).metadata for k, p in files.items()}
    assert meta["2b4t"]["tokenizer.chat_template"] == R.BITNET_TEMPLATE  # from tokenizer_config.json
    assert meta["falcon"]["tokenizer.chat_template"] == R.LLAMA3_TEMPLATE  # from chat_template.jinja
    assert meta["2b4t-i2s"]["tokenizer.chat_template"] == BITNET_2B_TEMPLATE  # the GGUF's placeholder replaced
    assert {m["tokenizer.ggml.pre"] for m in meta.values()} == {"llama-bpe"}
    prompt, _ = ChatFormatter(BITNET_2B_TEMPLATE, "<|begin_of_text|>", "<|eot_id|>").format(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    assert prompt == "<|begin_of_text|>System: Be brief.<|eot_id|>User: Hi<|eot_id|>Assistant: "


def test_the_vocabulary_is_padded_to_the_models_size(files: dict[str, Path]) -> None:
    llm = _vocab(files["2b4t"])
    try:
        assert llm.n_vocab() == R.Tiny().vocab
        assert llm.detokenize([R.tokenizer().size]) == b""  # a padding token is unused, never text
    finally:
        llm.close()
