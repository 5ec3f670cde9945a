"""A numpy forward pass written from the Hugging Face model definitions, to hold llama.cpp's logits to.

transformers' `LlamaForCausalLM` and `BitNetForCausalLM` (models/llama, models/bitnet): embedding,
RMSNorm (float32, x·rsqrt(mean x² + eps)·w), RoPE in Hugging Face's convention (rotate_half over the
two halves of each head, inv_freq = θ^(-2i/d)), grouped-query attention with a causal mask, the gated
FFN act(gate)·up with SiLU or ReLU², BitNet's sub-norms (attn_sub_norm before o_proj, ffn_sub_norm
before down_proj), the final norm and a tied or separate head. BitNet's linear layers follow
integrations/bitnet.py: activations quantized to int8 per token (absmax); packed weights unpacked in
four row bands; BitLinear divides by weight_scale, AutoBitLinear multiplies; online AutoBitLinear
ternarizes the master weights by absmean (WeightQuant) on every call.

`load_repo` reads a repo's own files (its config.json and safetensors, with a reader of its own);
`convention=` and `act=` override what the config says — the negative controls.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.support.ternary_repos import Truth


@dataclass
class RefModel:
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    layers: int
    act: str
    eps: float
    theta: float
    sub_norms: bool
    tied: bool
    act_quant: bool  # BitNet linear layers quantize their input to int8 per token
    online: bool = False  # ternarize weights by absmean at every call (AutoBitLinear online)
    w: dict[str, np.ndarray] = field(default_factory=dict)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        raw = data[8 + n + b : 8 + n + end]
        if e["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype={"F32": "<f4", "F16": "<f2", "U8": "u1"}[e["dtype"]]).astype(
                np.float32 if e["dtype"] != "U8" else np.uint8)
        out[name] = arr.reshape(e["shape"])
    return out


def unpack_weights(packed: np.ndarray) -> np.ndarray:
    """transformers' unpack_weights: band i of the rows is (packed & (3 << 2i)) >> 2i, minus 1."""
    rows = packed.shape[0]
    out = np.zeros((rows * 4, *packed.shape[1:]), dtype=np.float32)
    for i in range(4):
        out[i * rows : (i + 1) * rows] = ((packed & (3 << (2 * i))) >> (2 * i)).astype(np.float32)
    return out - 1


def load_repo(folder: Path, convention: str | None = None, act: str | None = None) -> RefModel:
    cfg = json.loads((folder / "config.json").read_text())
    raw = read_safetensors(folder / "model.safetensors")
    q = cfg.get("quantization_config") or {}
    bitnet = q.get("quant_method") == "bitnet"
    online = bitnet and q.get("quantization_mode") == "online"
    conv = convention or ("multiply" if q.get("linear_class") == "autobitlinear" else "divide")
    heads = cfg["num_attention_heads"]
    m = RefModel(cfg["hidden_size"], heads, cfg.get("num_key_value_heads", heads),
                 cfg.get("head_dim") or cfg["hidden_size"] // heads, cfg["num_hidden_layers"],
                 act or cfg.get("hidden_act", "silu"), cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0),
                 cfg["architectures"][0] == "BitNetForCausalLM", "lm_head.weight" not in raw, bitnet, online)
    for name, arr in raw.items():
        if name.endswith("weight_scale"):
            continue
        if arr.dtype == np.uint8:
            ws = float(raw[name[: -len("weight")] + "weight_scale"].reshape(-1)[0])
            t = unpack_weights(arr)
            arr = t * ws if conv == "multiply" else t / ws
        m.w[name] = arr.astype(np.float32)
    return m


def from_truth(tr: Truth, act_quant: bool = True, act: str | None = None) -> RefModel:
    s = tr.spec
    m = RefModel(s.hidden, s.heads, s.kv_heads, s.head_dim, s.layers, act or s.act, s.eps, s.rope_theta,
                 s.arch == "bitnet", s.tied, act_quant)
    m.w = {**tr.floats, **{n: tr.weight(n) for n in tr.codes}}
    return m


def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    x = x.astype(np.float32)
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def act_quant(x: np.ndarray) -> np.ndarray:
    s = 127.0 / np.maximum(np.abs(x).max(axis=-1, keepdims=True), 1e-5)
    return np.clip(np.round(x * s), -128, 127) / s


def weight_quant(w: np.ndarray) -> np.ndarray:
    s = np.float32(1.0) / np.maximum(np.float32(np.abs(w).mean(dtype=np.float64)), np.float32(1e-5))
    return np.clip(np.round(w * s), -1, 1) / s


def linear(m: RefModel, x: np.ndarray, name: str) -> np.ndarray:
    w = m.w[name]
    if m.online:
        w = weight_quant(w)
    return (act_quant(x) if m.act_quant else x) @ w.T


def rope(x: np.ndarray, theta: float) -> np.ndarray:
    """x: [n_heads, n_tokens, d]; Hugging Face's rotate_half convention."""
    d = x.shape[-1]
    inv = 1.0 / (theta ** (np.arange(0, d, 2, dtype=np.float64) / d))
    ang = np.arange(x.shape[1])[:, None] * inv[None, :]
    cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
    rot = np.concatenate([-x[..., d // 2 :], x[..., : d // 2]], -1)
    return (x * cos + rot * sin).astype(np.float32)


def logits(m: RefModel, tokens: list[int]) -> np.ndarray:
    n, hd = len(tokens), m.head_dim
    h = m.w["model.embed_tokens.weight"][tokens].astype(np.float32)
    mask = np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)
    for i in range(m.layers):
        p = f"model.layers.{i}."
        x = rms_norm(h, m.w[p + "input_layernorm.weight"], m.eps)
        q = linear(m, x, p + "self_attn.q_proj.weight").reshape(n, m.heads, hd).transpose(1, 0, 2)
        k = linear(m, x, p + "self_attn.k_proj.weight").reshape(n, m.kv_heads, hd).transpose(1, 0, 2)
        v = linear(m, x, p + "self_attn.v_proj.weight").reshape(n, m.kv_heads, hd).transpose(1, 0, 2)
        q, k = rope(q, m.theta), rope(k, m.theta)
        rep = m.heads // m.kv_heads
        k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
        att = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = (att @ v).transpose(1, 0, 2).reshape(n, m.heads * hd)
        if m.sub_norms:
            o = rms_norm(o, m.w[p + "self_attn.attn_sub_norm.weight"], m.eps)
        h = h + linear(m, o, p + "self_attn.o_proj.weight")
        x = rms_norm(h, m.w[p + "post_attention_layernorm.weight"], m.eps)
        g, u = linear(m, x, p + "mlp.gate_proj.weight"), linear(m, x, p + "mlp.up_proj.weight")
        a = (np.maximum(g, 0) ** 2 if m.act == "relu2" else g / (1 + np.exp(-np.clip(g, -60, 60)))) * u
        if m.sub_norms:
            a = rms_norm(a, m.w[p + "mlp.ffn_sub_norm.weight"], m.eps)
        h = h + linear(m, a, p + "mlp.down_proj.weight")
    h = rms_norm(h, m.w["model.norm.weight"], m.eps)
    head = m.w["model.embed_tokens.weight"] if m.tied else m.w["lm_head.weight"]
    return h @ head.T


def engine_logits(path: Path, tokens: list[int]) -> np.ndarray:
    """llama.cpp's logits at every position of `tokens` for the GGUF at `path` (in-process, CPU)."""
    import llama_cpp

    llm = llama_cpp.Llama(str(path), n_ctx=max(64, len(tokens) + 8), logits_all=True, n_threads=2, verbose=False)
    try:
        llm.eval(tokens)
        return np.array(llm.scores[: len(tokens)], dtype=np.float32)
    finally:
        llm.close()


def agreement(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(lowest per-position cosine similarity, share of positions with the same top-1 token)."""
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return float(cos.min()), float((a.argmax(-1) == b.argmax(-1)).mean())
