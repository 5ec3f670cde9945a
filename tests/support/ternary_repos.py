"""Tiny ternary checkpoints of every kind the converter reads, in the real file formats.

A model is first drawn as `Truth` — Hugging Face names and conventions, ternary codes and one real
scale per linear layer — and then written the way each publisher stores it:
- `packed_repo(..., "autobitlinear")`: 2B-4T style, uint8 packed (transformers' pack_weights) + bf16
  weight_scale = the scale (W = t × scale), BitNetForCausalLM, sub-norms, relu2, tied;
- `packed_repo(..., "bitlinear")`: Falcon3/Falcon-E style, LlamaForCausalLM, weight_scale = 1/scale
  (W = t ÷ scale), untied bf16 lm_head;
- `master_repo`: 2B-4T-bf16 style, bf16 master weights ternarized by absmean at run time;
- `ternary_float_repo`: TriLM *_Unpacked style, bf16 floats already ternary, one layer with one scale
  per block of rows;
- i2s_files.i2s_gguf: bitnet.cpp's I2_S GGUF (type 36, 128-value blocks, trailing f32 scale), via gguf-py.
Each folder also gets config.json, a byte-level BPE tokenizer.json (tests/support/bpe.py) and a chat
template. The sizes keep every linear input a multiple of 256, use GQA and a few layers, and stay small.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.support import bpe

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"]
N_MERGES = 243  # 256 bytes + 243 merges + 5 specials = 504 tokens, padded to vocab_size 512
LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
BITNET_TEMPLATE = (
    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
    "{{ message['role'] | capitalize + ': ' + message['content'] + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)
# Real scale per kind of layer: soft attention and residual updates about half the embedding's size keep a
# random 3-layer model from amplifying 8-bit activation rounding (which llama.cpp and transformers do
# differently) into flipped top-1 tokens, while every layer still moves the logits a lot.
ROLE_SCALE = {"q_proj": 0.08, "k_proj": 0.08, "v_proj": 0.08, "o_proj": 0.03, "gate_proj": 0.06, "up_proj": 0.06,
              "down_proj": 0.03}
LINEAR = {"self_attn": ("q_proj", "k_proj", "v_proj", "o_proj"), "mlp": ("gate_proj", "up_proj", "down_proj")}


@dataclass(frozen=True)
class Tiny:
    arch: str = "bitnet"  # "bitnet" (2B-4T-like) or "llama" (Falcon3/TriLM-like)
    hidden: int = 256
    intermediate: int = 512
    layers: int = 3
    heads: int = 4
    kv_heads: int = 2
    vocab: int = 512
    act: str = "relu2"
    tied: bool = True
    rope_theta: float = 500000.0
    eps: float = 1e-5
    ctx: int = 512

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def out_in(self, name: str) -> tuple[int, int]:
        h, f, kv = self.hidden, self.intermediate, self.kv_heads * self.head_dim
        return {"q_proj": (h, h), "k_proj": (kv, h), "v_proj": (kv, h), "o_proj": (h, h),
                "gate_proj": (f, h), "up_proj": (f, h), "down_proj": (h, f)}[name]


@dataclass
class Truth:
    """The model: float32 tensors by Hugging Face name; linear layers as int8 codes and their real scale."""

    spec: Tiny
    floats: dict[str, np.ndarray] = field(default_factory=dict)
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    scales: dict[str, float] = field(default_factory=dict)

    def weight(self, name: str) -> np.ndarray:
        """The real weight (codes × scale) of a linear layer, or a float tensor."""
        if name in self.codes:
            return self.codes[name].astype(np.float32) * np.float32(self.scales[name])
        return self.floats[name]


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 → nearest bfloat16 (ties to even), returned as float32, like torch's .to(bfloat16)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return (u.astype(np.uint32) << 16).view(np.float32)


def linear_names(spec: Tiny) -> list[str]:
    return [f"model.layers.{i}.{blk}.{n}.weight" for i in range(spec.layers) for blk, ns in LINEAR.items() for n in ns]


def make_truth(spec: Tiny, seed: int = 0, emb_std: float = 0.3) -> Truth:
    rng = np.random.default_rng(seed)
    tr = Truth(spec)
    h, f = spec.hidden, spec.intermediate
    # Row norms spread like a real vocabulary's (frequent tokens have larger embeddings), which gives the
    # logits clear winners instead of a flat top: top-1 agreement then measures the model, not near-ties.
    norms = np.exp(1.0 * rng.standard_normal((spec.vocab, 1)))
    tr.floats["model.embed_tokens.weight"] = bf16_round(emb_std * norms * rng.standard_normal((spec.vocab, h)))
    tr.floats["model.norm.weight"] = bf16_round(1 + 0.1 * rng.standard_normal(h))
    if not spec.tied:
        head_norms = np.exp(1.0 * rng.standard_normal((spec.vocab, 1)))
        tr.floats["lm_head.weight"] = bf16_round(0.3 * head_norms * rng.standard_normal((spec.vocab, h)))
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            tr.floats[f"{p}{n}.weight"] = bf16_round(1 + 0.1 * rng.standard_normal(h))
        if spec.arch == "bitnet":
            tr.floats[f"{p}self_attn.attn_sub_norm.weight"] = bf16_round(1 + 0.1 * rng.standard_normal(h))
            tr.floats[f"{p}mlp.ffn_sub_norm.weight"] = bf16_round(1 + 0.1 * rng.standard_normal(f))
    for name in linear_names(spec):
        short = name.split(".")[-2]
        tr.codes[name] = rng.integers(-1, 2, size=spec.out_in(short), dtype=np.int8)
        scale = ROLE_SCALE[short] * rng.uniform(0.8, 1.25)
        if spec.arch == "llama" and short == "down_proj":
            scale *= 2.0  # no sub-norm before it: its input is small
        tr.scales[name] = float(bf16_round(np.array([scale], dtype=np.float32))[0])
    return tr


# -- file writers ---------------------------------------------------------------------------------

def write_safetensors(path: Path, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    """name → (dtype, array) written as safetensors (BF16 given as float32, rounded here)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        if dtype == "BF16":
            raw = (bf16_round(arr).view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(arr, dtype={"F32": "<f4", "F16": "<f2", "U8": "u1"}[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def pack_weights(t: np.ndarray) -> np.ndarray:
    """transformers' pack_weights: rows in four bands of ceil(out/4), code+1 at bits 2·band."""
    rows = (t.shape[0] + 3) // 4
    codes = (t.astype(np.int16) + 1).astype(np.uint8)
    packed = np.zeros((rows, t.shape[1]), dtype=np.uint8)
    for i in range(4):
        band = codes[i * rows : (i + 1) * rows]
        packed[: band.shape[0]] |= band << (2 * i)
    return packed


def tokenizer() -> bpe.Tokenizer:
    return bpe.Tokenizer(bpe.train(bpe.CORPUS, N_MERGES), SPECIALS)


def write_tokenizer(folder: Path, tok: bpe.Tokenizer, template: str | None, template_file: bool = False,
                    eos: str = "<|eot_id|>") -> None:
    (folder / "tokenizer.json").write_text(json.dumps(tok.tokenizer_json("<|begin_of_text|>")), encoding="utf-8")
    cfg = {"bos_token": "<|begin_of_text|>", "eos_token": eos, "add_bos_token": True,
           "tokenizer_class": "PreTrainedTokenizerFast"}
    if template and not template_file:
        cfg["chat_template"] = template
    (folder / "tokenizer_config.json").write_text(json.dumps(cfg), encoding="utf-8")
    if template and template_file:
        (folder / "chat_template.jinja").write_text(template, encoding="utf-8")


def config(spec: Tiny, tok: bpe.Tokenizer, quant: dict | None) -> dict:
    cfg = {"architectures": ["BitNetForCausalLM" if spec.arch == "bitnet" else "LlamaForCausalLM"],
           "model_type": "bitnet" if spec.arch == "bitnet" else "llama", "hidden_size": spec.hidden,
           "intermediate_size": spec.intermediate, "num_hidden_layers": spec.layers,
           "num_attention_heads": spec.heads, "num_key_value_heads": spec.kv_heads, "vocab_size": spec.vocab,
           "max_position_embeddings": spec.ctx, "rms_norm_eps": spec.eps, "rope_theta": spec.rope_theta,
           "hidden_act": spec.act, "tie_word_embeddings": spec.tied, "torch_dtype": "bfloat16",
           "bos_token_id": tok.specials["<|begin_of_text|>"], "eos_token_id": tok.specials["<|eot_id|>"]}
    if spec.arch == "llama":
        cfg["head_dim"] = spec.head_dim
    if quant is not None:
        cfg["quantization_config"] = quant
    return cfg


def _floats(tr: Truth) -> dict[str, tuple[str, np.ndarray]]:
    return {n: ("BF16", a) for n, a in tr.floats.items()}


def packed_repo(folder: Path, tr: Truth, linear_class: str, template: str | None = BITNET_TEMPLATE,
                template_file: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tensors = _floats(tr)
    for name, t in tr.codes.items():
        scale = tr.scales[name] if linear_class == "autobitlinear" else 1.0 / tr.scales[name]
        tensors[name] = ("U8", pack_weights(t))
        tensors[name[: -len("weight")] + "weight_scale"] = ("BF16", np.array([scale], dtype=np.float32))
    write_safetensors(folder / "model.safetensors", tensors)
    quant = {"quant_method": "bitnet", "modules_to_not_convert": ["lm_head"]}
    if linear_class == "autobitlinear":
        quant.update({"linear_class": "autobitlinear", "quantization_mode": "offline"})
    tok = tokenizer()
    (folder / "config.json").write_text(json.dumps(config(tr.spec, tok, quant)), encoding="utf-8")
    write_tokenizer(folder, tok, template, template_file)
    return folder


def master_repo(folder: Path, tr: Truth, seed: int = 1) -> Path:
    """bf16 master weights: gaussian, so absmean ternarization has work to do (the codes in `tr` are unused)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tensors = _floats(tr)
    for name, t in tr.codes.items():
        tensors[name] = ("BF16", (tr.scales[name] / 0.8) * rng.standard_normal(t.shape).astype(np.float32))
    write_safetensors(folder / "model.safetensors", tensors)
    tok = tokenizer()
    quant = {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "online"}
    (folder / "config.json").write_text(json.dumps(config(tr.spec, tok, quant)), encoding="utf-8")
    write_tokenizer(folder, tok, BITNET_TEMPLATE)
    return folder


def ternary_float_repo(folder: Path, tr: Truth) -> Path:
    """bf16 floats already ternary; the first layer's gate has one scale per quarter of its rows."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = _floats(tr)
    for name, t in tr.codes.items():
        w = t.astype(np.float32) * np.float32(tr.scales[name])
        if name == "model.layers.0.mlp.gate_proj.weight":
            w = w * np.repeat(np.array([1.0, 0.75, 1.5, 1.25], dtype=np.float32), t.shape[0] // 4)[:, None]
        tensors[name] = ("BF16", w)
    write_safetensors(folder / "model.safetensors", tensors)
    tok = tokenizer()
    (folder / "config.json").write_text(json.dumps(config(tr.spec, tok, None)), encoding="utf-8")
    write_tokenizer(folder, tok, LLAMA3_TEMPLATE, template_file=True)
    return folder


CHAT_REPLY = " Hello"  # the one token the chat model says before it ends its turn


def chat_truth(seed: int = 7) -> Truth:
    """A Falcon3-style chat model (untied head, SiLU) whose weights are built so greedy decoding answers any
    prompt with CHAT_REPLY and then <|eot_id|>: every embedding but the reply's carries a direction u, the
    reply's carries v; the head maps u to the reply and v to <|eot_id|>; the layers' output projections are
    tiny, so what the last token was decides what comes next."""
    spec = Tiny(arch="llama", act="silu", tied=False, rope_theta=1000042.0)
    tok = tokenizer()
    reply = tok.vocab[bpe.to_symbols(CHAT_REPLY)]
    eot = tok.specials["<|eot_id|>"]
    tr = make_truth(spec, seed)
    rng = np.random.default_rng(seed + 1)
    u, v = np.linalg.qr(rng.standard_normal((spec.hidden, 2)))[0].T
    emb = 0.3 * rng.standard_normal((spec.vocab, spec.hidden)) + 10.0 * u
    emb[reply] += 10.0 * (v - u)
    head = 0.02 * rng.standard_normal((spec.vocab, spec.hidden))
    head[reply], head[eot] = u, v
    tr.floats["model.embed_tokens.weight"] = bf16_round(emb)
    tr.floats["lm_head.weight"] = bf16_round(head)
    for name in tr.codes:
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            tr.scales[name] = 1e-3
    return tr


def chat_repo(folder: Path, seed: int = 7) -> Path:
    """`chat_truth` as a Falcon3-style repo: packed BitLinear, Llama-3 chat template, EOT <|eot_id|>."""
    return packed_repo(folder, chat_truth(seed), "bitlinear", LLAMA3_TEMPLATE)
