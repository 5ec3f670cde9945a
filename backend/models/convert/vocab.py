"""The tokenizer in GGUF terms: tokens, types, merges, special ids, pre-tokenizer and chat template.

From a Hugging Face folder: `tokenizer.json` (byte-level BPE) read with gguf-py's vocab helpers
(`BpeVocab` for the tokens, `SpecialVocab` for merges, special ids and the chat template from
`tokenizer_config.json` or `chat_template.jinja`), without transformers. gguf-py leaves two things
to the converter, done here: `tokenizer.ggml.pre` — which llama.cpp pre-tokenizer splits text the way
`tokenizer.json` does, decided from its pre_tokenizer rules (an unknown one is refused, since
llama.cpp would silently split differently) — and padding the token list to the model's vocab_size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gguf import GGUFValueType, Keys, SpecialVocab, TokenType
from gguf.vocab import BpeVocab

from backend.models.convert.errors import ConvertError, clean

# The split rules of Llama-3's tokenizer.json (also Falcon3's family); llama.cpp runs them for
# the pre-tokenizer types below (src/llama-vocab.cpp: llama-bpe, falcon3, falcon-h1 → LLAMA3).
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
# Every tokenizer.ggml.pre the vendored llama.cpp accepts (src/llama-vocab.cpp); any other is a load error.
LLAMA_CPP_PRE = frozenset("""
default minicpm5 llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano deepseek-llm
deepseek-coder deepseek-v3 spark2_5 youtu falcon mpt starcoder gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es
jina-v2-de a.x-4.0 mellum modern-bert jais-2 gemma4 granite-embed-multi-311m sarvam-moe jina-v1-en jina-v2-code
roberta-bpe whitespace refact command-r qwen2 deepseek-r1-qwen kormo f2llmv2 qwen35 stablelm2 olmo dbrx smaug-bpe
poro-chat chatglm-bpe glm4 glm5 viking jais tekken smollm codeshell bloom gpt3-finnish exaone exaone4 exaone-moe
chameleon minerva-7b megrez gpt-4o llama4 kanana2 talkie granite-embed-multi-97m tiny_aya cohere2moe superbpe
trillion granite-docling bailingmoe bailingmoe2 llada-moe seed-coder hunyuan hunyuan-dense hy_v4 joyai-llm kimi-k2
ufakzeka grok-2 afmoe laguna minimax-m2""".split())
# Chat-turn ends llama.cpp treats as end of generation when the GGUF marks them (eot id).
SPECIAL_KEYS = {"bos": Keys.Tokenizer.BOS_ID, "eos": Keys.Tokenizer.EOS_ID, "eot": Keys.Tokenizer.EOT_ID,
                "unk": Keys.Tokenizer.UNK_ID, "sep": Keys.Tokenizer.SEP_ID, "pad": Keys.Tokenizer.PAD_ID,
                "mask": Keys.Tokenizer.MASK_ID}
TURN_ENDS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")


@dataclass
class GGUFVocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    pre: str
    special_ids: dict[str, int] = field(default_factory=dict)  # bos, eos, eot, unk, pad, ...
    add_bos: bool | None = None
    add_eos: bool | None = None
    chat_template: str | None = None

    def write(self, w: Any) -> None:
        w.add_str("tokenizer.ggml.model", "gpt2")
        w.add_str("tokenizer.ggml.pre", self.pre)
        w.add_array("tokenizer.ggml.tokens", GGUFValueType.STRING, self.tokens)
        w.add_array("tokenizer.ggml.token_type", GGUFValueType.INT32, self.types)
        w.add_array("tokenizer.ggml.merges", GGUFValueType.STRING, self.merges)
        for kind, tid in self.special_ids.items():
            if kind in SPECIAL_KEYS:
                w.add_u32(SPECIAL_KEYS[kind], tid)
        if self.add_bos is not None:
            w.add_bool("tokenizer.ggml.add_bos_token", self.add_bos)
        if self.add_eos is not None:
            w.add_bool("tokenizer.ggml.add_eos_token", self.add_eos)
        if self.chat_template:
            w.add_str("tokenizer.chat_template", self.chat_template)


def pre_tokenizer_name(tokenizer_json: dict[str, Any], tokens: list[str], where: str) -> str:
    """The llama.cpp pre-tokenizer that splits text as `tokenizer.json`'s pre_tokenizer does."""
    pre = tokenizer_json.get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    kinds = [s.get("type") for s in steps]
    if kinds == ["Split", "ByteLevel"] and not steps[1].get("use_regex", True):
        regex = (steps[0].get("pattern") or {}).get("Regex")
        if regex == LLAMA3_REGEX and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert"):
            return "falcon3" if tokens[:1] == [">>TITLE<<"] else "llama-bpe"
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    raise ConvertError(where, f"its pre_tokenizer ({clean(json.dumps(pre), 160)}) is not one Tern can map to a "
                       "llama.cpp pre-tokenizer, so llama.cpp would split text differently from the model's own "
                       "tokenizer", code="unknown_tokenizer")


def turn_end(template: str | None, tokens: list[str]) -> int | None:
    """The id of the end-of-turn token the chat template writes, when it is one llama.cpp knows."""
    return next((tokens.index(t) for t in TURN_ENDS if template and t in template and t in tokens), None)


def vocab_from_folder(folder: Path, vocab_size: int, source: str) -> GGUFVocab:
    """The GGUF vocabulary of a Hugging Face model folder; raises ConvertError naming the file."""
    path = folder / "tokenizer.json"
    where = f"{source}/tokenizer.json"
    if not path.is_file():
        hint = ("It ships a SentencePiece tokenizer.model, which Tern does not read."
                if (folder / "tokenizer.model").is_file() else "Download tokenizer.json with the weights.")
        raise ConvertError(source, "it has no tokenizer.json", hint, code="no_tokenizer")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        bpe = BpeVocab(folder)
    except FileNotFoundError as e:
        raise ConvertError(where, "it is not a byte-level BPE tokenizer (Tern reads GPT-2-style BPE only; "
                           "SentencePiece-style BPE with byte fallback needs sentencepiece)",
                           code="unknown_tokenizer") from e
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise ConvertError(where, f"it cannot be read ({clean(e, 100)})", code="unknown_tokenizer") from e
    tokens = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t, _, _ in bpe.all_tokens()]
    if len(tokens) > vocab_size:
        raise ConvertError(where, f"it has {len(tokens):,} tokens but config.json's vocab_size is {vocab_size:,}",
                           code="shape_mismatch")
    types = [int(TokenType.NORMAL)] * len(tokens)
    for added in doc.get("added_tokens") or []:
        tid = added.get("id")
        if isinstance(tid, int) and 0 <= tid < len(tokens):
            types[tid] = int(TokenType.CONTROL if added.get("special") else TokenType.USER_DEFINED)
    for i in range(len(tokens), vocab_size):
        tokens.append(f"[PAD{i}]")
        types.append(int(TokenType.UNUSED))
    try:
        special = SpecialVocab(folder, load_merges=True, n_vocab=vocab_size)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConvertError(f"{source}/tokenizer_config.json", f"it cannot be read ({clean(e, 100)})",
                           code="unknown_tokenizer") from e
    if not special.merges:
        raise ConvertError(where, "it has no BPE merges", code="unknown_tokenizer")
    template = special.chat_template if isinstance(special.chat_template, str) else None
    ids = dict(special.special_token_ids)
    eot = turn_end(template, tokens)
    if eot is not None:
        ids["eot"] = eot
    return GGUFVocab(tokens, types, list(special.merges), pre_tokenizer_name(doc, tokens, where), ids,
                     special.add_special_token.get("bos"), special.add_special_token.get("eos"), template)
