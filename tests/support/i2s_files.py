"""bitnet.cpp I2_S GGUF files of a `Truth` model, written with gguf-py as bitnet.cpp's converter does.

Layout (microsoft/BitNet src/ggml-bitnet-mad.cpp, quantize_i2_s, the x86 layout the published files use):
the matrix flattened row-major in blocks of 128 values, value j of a block in byte j % 32 at bits
6 - 2·(j // 32), codes 0, 1, 2 = -1, 0, +1; then the float32 scale and padding, 32 bytes. Tensor type 36.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType, GGUFWriter

from tests.support.ternary_repos import LINEAR, Truth, tokenizer


def pack_i2s(t: np.ndarray, scale: float) -> np.ndarray:
    """bitnet.cpp's quantize_i2_s (x86 layout): 128-value blocks, value j in byte j%32 at bits 6-2(j//32)."""
    codes = (t.reshape(-1).astype(np.int16) + 1).astype(np.uint8).reshape(-1, 4, 32)
    packed = (codes[:, 0] << 6) | (codes[:, 1] << 4) | (codes[:, 2] << 2) | codes[:, 3]
    tail = np.zeros(32, dtype=np.uint8)
    tail[:4] = np.frombuffer(np.float32(scale).tobytes(), dtype=np.uint8)
    return np.concatenate([packed.reshape(-1), tail])


def llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


GGUF_LINEAR = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
               "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down"}


def i2s_gguf(path: Path, tr: Truth, arch: str, pre: str | None = None, permuted: bool = False,
             template: str = "{{ 'BITNETAssistant' }}", rope_freqs: np.ndarray | None = None) -> Path:
    """A bitnet.cpp-style I2_S GGUF of `tr`: arch `bitnet-25`/`bitnet-b1.58` (Hugging Face row order) or
    `llama` (q/k rows in llama.cpp's order when `permuted`). F16 embeddings, F32 norms; a float32
    `rope_freqs.weight` (RoPE frequency factors, as Llama 3 files carry) when given."""
    spec, tok = tr.spec, tokenizer()
    w = GGUFWriter(path, arch)
    w.add_uint32(f"{arch}.vocab_size", spec.vocab)
    for key, value in (("context_length", spec.ctx), ("embedding_length", spec.hidden), ("block_count", spec.layers),
                       ("feed_forward_length", spec.intermediate), ("rope.dimension_count", spec.head_dim),
                       ("attention.head_count", spec.heads), ("attention.head_count_kv", spec.kv_heads)):
        w.add_uint32(f"{arch}.{key}", value)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", spec.eps)
    w.add_float32(f"{arch}.rope.freq_base", spec.rope_theta)
    w.add_uint32("general.file_type", 40)
    tokens = tok.tokens() + [f"[PAD{i}]" for i in range(tok.size, spec.vocab)]
    types = [1] * len(tok.vocab) + [3] * len(tok.specials) + [5] * (spec.vocab - tok.size)
    w.add_string("tokenizer.ggml.model", "gpt2")
    if pre:
        w.add_string("tokenizer.ggml.pre", pre)
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.token_type", types)
    w.add_array("tokenizer.ggml.merges", [f"{a} {b}" for a, b in tok.merges])
    w.add_uint32("tokenizer.ggml.bos_token_id", tok.specials["<|begin_of_text|>"])
    w.add_uint32("tokenizer.ggml.eos_token_id", tok.specials["<|eot_id|>"])
    w.add_string("tokenizer.chat_template", template)
    plan: list[tuple[str, np.ndarray, int]] = [("token_embd.weight", tr.floats["model.embed_tokens.weight"]
                                                .astype(np.float16), GGMLQuantizationType.F16)]
    for i in range(spec.layers):
        p = f"model.layers.{i}."
        plan.append((f"blk.{i}.attn_norm.weight", tr.floats[p + "input_layernorm.weight"], GGMLQuantizationType.F32))
        for blk, names in LINEAR.items():
            for n in names:
                t = tr.codes[f"{p}{blk}.{n}.weight"]
                if permuted and n in ("q_proj", "k_proj"):
                    t = llama_permute(t, spec.heads if n == "q_proj" else spec.kv_heads)
                plan.append((f"blk.{i}.{GGUF_LINEAR[n]}.weight", pack_i2s(t, tr.scales[f"{p}{blk}.{n}.weight"]), 36))
        plan.append((f"blk.{i}.ffn_norm.weight", tr.floats[p + "post_attention_layernorm.weight"],
                     GGMLQuantizationType.F32))
        if spec.arch == "bitnet":
            plan.append((f"blk.{i}.attn_sub_norm.weight", tr.floats[p + "self_attn.attn_sub_norm.weight"],
                         GGMLQuantizationType.F32))
            plan.append((f"blk.{i}.ffn_sub_norm.weight", tr.floats[p + "mlp.ffn_sub_norm.weight"],
                         GGMLQuantizationType.F32))
    if rope_freqs is not None:
        plan.append(("rope_freqs.weight", rope_freqs.astype(np.float32), GGMLQuantizationType.F32))
    plan.append(("output_norm.weight", tr.floats["model.norm.weight"], GGMLQuantizationType.F32))
    if not spec.tied:
        plan.append(("output.weight", tr.floats["lm_head.weight"].astype(np.float16), GGMLQuantizationType.F16))
    shapes = {f"blk.{i}.{GGUF_LINEAR[n]}.weight": spec.out_in(n) for i in range(spec.layers)
              for ns in LINEAR.values() for n in ns}
    for name, arr, qtype in plan:
        shape = shapes.get(name, arr.shape)
        w.add_tensor_info(name, shape, np.dtype(np.float32), arr.nbytes, raw_dtype=qtype)  # type: ignore[arg-type]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for _, arr, _ in plan:
        w.write_tensor_data(arr)
    w.close()
    return path
