"""From a Hugging Face `config.json` and the safetensors headers to a conversion plan.

The plan says which llama.cpp graph runs the model (`bitnet`: BitNet b1.58 with sub-norms, NEOX
rope, tied head; `llama`: Falcon3/Falcon-E/TriLM, q/k rows permuted for llama.cpp's rope), its
hyper-parameters, and for every output tensor where it comes from. `match_kind` then checks the
headers against it (every tensor present with the shape and dtype the config implies, nothing
unexpected) and decides how the numbers are stored (packed, master weights, ternary floats).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.models.convert.errors import ConvertError, clean
from backend.models.convert.safetensors import FLOATS, STensor

QK = 256  # TQ1_0/TQ2_0 block: every linear layer's input size must be a multiple of it
BITNET_ARCHS = {"BitNetForCausalLM", "BitnetForCausalLM"}
LLAMA_ARCHS = {"LlamaForCausalLM"}
LINEAR = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
          "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
          "mlp.down_proj": "ffn_down"}
# BitNet sub-norms: 2B-4T's names, then 1bitLLM's.
SUB_NORMS = {"attn_sub_norm": ("self_attn.attn_sub_norm", "self_attn.inner_attn_ln"),
             "ffn_sub_norm": ("mlp.ffn_sub_norm", "mlp.ffn_layernorm")}
IGNORED_SUFFIXES = ("rotary_emb.inv_freq",)
# What a conversion reads besides the weights (gguf-py's vocab helpers read the tokenizer files; special ids
# come from tokenizer_config.json and tokenizer.json). special_tokens_map.json and generation_config.json are
# not read, so they are not downloaded (the end-of-turn token comes from the chat template and the vocabulary).
CONFIG, INDEX = "config.json", "model.safetensors.index.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
SMALL_FILES = (CONFIG, INDEX, *TOKENIZER_FILES)

# Kinds of checkpoint (how the linear weights are stored).
PACKED_BITLINEAR = "packed-bitlinear"  # uint8 + weight_scale, W = t ÷ scale
PACKED_AUTOBITLINEAR = "packed-autobitlinear"  # uint8 + weight_scale, W = t × scale
MASTER_WEIGHTS = "master-weights"  # floats, ternarized by absmean
TERNARY_FLOATS = "ternary-floats"  # floats already ternary
I2S = "i2_s"  # bitnet.cpp GGUF (see i2s.py)
KIND_TEXT = {PACKED_BITLINEAR: "packed BitLinear safetensors (weight = ternary ÷ weight_scale)",
             PACKED_AUTOBITLINEAR: "packed AutoBitLinear safetensors (weight = ternary × weight_scale)",
             MASTER_WEIGHTS: "full-precision master weights, ternarized by absmean as the model does",
             TERNARY_FLOATS: "floats that are already ternary",
             I2S: "bitnet.cpp I2_S GGUF (ternary, one scale per matrix)"}


@dataclass(frozen=True)
class HParams:
    arch: str  # llama.cpp architecture: "bitnet" | "llama"
    n_vocab: int
    n_embd: int
    n_ff: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ctx: int
    rope_theta: float
    rms_eps: float
    act: str  # "silu" | "relu2"
    tied: bool


@dataclass(frozen=True)
class TensorSpec:
    gguf: str
    hf: str
    role: str  # "embedding" | "head" | "norm" | "linear"
    shape: tuple[int, ...]  # numpy shape of the real weight: (out, in) or (n,)
    permute_heads: int = 0  # llama arch q/k: heads for llama.cpp's row permutation (0: none)


@dataclass
class ModelPlan:
    source: str
    hf_arch: str
    hp: HParams
    quant_method: str | None
    linear_class: str
    quant_mode: str
    tensors: list[TensorSpec] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # reasons it cannot be TQ-encoded (see verdict)

    @property
    def linears(self) -> list[TensorSpec]:
        return [t for t in self.tensors if t.role == "linear"]


def read_config(folder: Path, source: str) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConvertError(source, "it has no config.json", "A Hugging Face model folder holds config.json next "
                           "to its *.safetensors files.", code="no_config") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ConvertError(f"{source}/config.json", f"it is not readable JSON ({clean(e, 80)})",
                           code="bad_config") from e
    if not isinstance(doc, dict):
        raise ConvertError(f"{source}/config.json", "it is not a JSON object", code="bad_config")
    return doc


def _int(cfg: dict[str, Any], key: str, source: str, default: int | None = None) -> int:
    v = cfg.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise ConvertError(f"{source}/config.json", f"{key} is {clean(v, 40)!r}, not a positive integer",
                           code="bad_config")
    return v


def _float(cfg: dict[str, Any], key: str, source: str, default: float) -> float:
    v = cfg.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
        raise ConvertError(f"{source}/config.json", f"{key} is {clean(v, 40)!r}, not a positive number",
                           code="bad_config")
    return float(v)


def _quant(cfg: dict[str, Any], source: str) -> tuple[str | None, str, str]:
    q = cfg.get("quantization_config")
    if q is None:
        return None, "bitlinear", "offline"
    where = f"{source}/config.json"
    if not isinstance(q, dict):
        raise ConvertError(where, "quantization_config is not an object", code="bad_config")
    method = q.get("quant_method")
    if method != "bitnet":
        raise ConvertError(where, f"its quant_method is {clean(method, 40)!r}; Tern converts only BitNet "
                           "ternary checkpoints (quant_method \"bitnet\")", code="unknown_quant_method")
    linear_class = q.get("linear_class", "bitlinear")
    if linear_class not in ("bitlinear", "autobitlinear"):
        raise ConvertError(where, f"its linear_class is {clean(linear_class, 40)!r}; Tern knows \"bitlinear\" "
                           "(weight = ternary ÷ scale) and \"autobitlinear\" (weight = ternary × scale)",
                           code="unknown_linear_class")
    mode = q.get("quantization_mode", "offline")
    if mode not in ("online", "offline"):
        raise ConvertError(where, f"its quantization_mode is {clean(mode, 40)!r} (expected online or offline)",
                           code="bad_config")
    if q.get("use_rms_norm"):
        raise ConvertError(where, "its BitLinear layers normalize their input (use_rms_norm), which no llama.cpp "
                           "graph does", code="unsupported_model")
    return "bitnet", linear_class, mode


def plan_model(cfg: dict[str, Any], names: set[str], source: str) -> ModelPlan:
    """The plan for a checkpoint with config `cfg` and tensor names `names`; raises ConvertError."""
    where = f"{source}/config.json"
    archs = cfg.get("architectures") or []
    hf_arch = str(archs[0]) if isinstance(archs, list) and archs else ""
    if hf_arch in BITNET_ARCHS:
        arch = "bitnet"
    elif hf_arch in LLAMA_ARCHS:
        arch = "llama"
    else:
        raise ConvertError(where, f"its architecture {clean(hf_arch, 60)!r} is not one Tern converts "
                           "(BitNetForCausalLM, LlamaForCausalLM)", code="unsupported_model")
    method, linear_class, mode = _quant(cfg, source)
    n_embd, n_layer = _int(cfg, "hidden_size", source), _int(cfg, "num_hidden_layers", source)
    n_head = _int(cfg, "num_attention_heads", source)
    n_head_kv = _int(cfg, "num_key_value_heads", source, n_head)
    head_dim = _int(cfg, "head_dim", source, n_embd // n_head) if cfg.get("head_dim") else n_embd // n_head
    act = str(cfg.get("hidden_act", "silu"))
    if act not in ("silu", "relu2"):
        raise ConvertError(where, f"its hidden_act is {clean(act, 30)!r}; llama.cpp's graphs here gate the FFN "
                           "with silu or relu2", code="unsupported_model")
    if arch == "llama" and act != "silu":
        raise ConvertError(where, f"a Llama model with hidden_act {act!r} has no llama.cpp graph",
                           code="unsupported_model")
    if n_head % n_head_kv or (arch == "bitnet" and n_head * head_dim != n_embd):
        raise ConvertError(where, f"{n_head} heads of {head_dim} with {n_head_kv} KV heads do not fit a "
                           f"{n_embd}-wide model", code="bad_config")
    rope = cfg.get("rope_scaling")
    if rope and (not isinstance(rope, dict) or rope.get("rope_type", rope.get("type")) not in (None, "default")):
        raise ConvertError(where, f"it scales RoPE ({clean(rope, 60)}), which Tern's converter does not carry over",
                           code="unsupported_model")
    lm_head = "lm_head.weight" in names
    tied = not lm_head or bool(cfg.get("tie_word_embeddings", False))
    if arch == "bitnet" and not tied:
        raise ConvertError(source, "it has its own output head (lm_head), but llama.cpp's bitnet graph always uses "
                           "the token embeddings as the head", code="unsupported_model")
    hp = HParams(arch, _int(cfg, "vocab_size", source), n_embd, _int(cfg, "intermediate_size", source), n_layer,
                 n_head, n_head_kv, head_dim, _int(cfg, "max_position_embeddings", source, 2048),
                 _float(cfg, "rope_theta", source, 10000.0), _float(cfg, "rms_norm_eps", source, 1e-6), act, tied)
    plan = ModelPlan(source, hf_arch, hp, method, linear_class, mode)
    plan.tensors = _tensors(hp, names)
    plan.problems = _tq_problems(hp)
    return plan


def _tensors(hp: HParams, names: set[str]) -> list[TensorSpec]:
    e, f, kv = hp.n_embd, hp.n_ff, hp.n_head_kv * hp.head_dim
    q = hp.n_head * hp.head_dim
    shapes = {"attn_q": (q, e), "attn_k": (kv, e), "attn_v": (kv, e), "attn_output": (e, q),
              "ffn_gate": (f, e), "ffn_up": (f, e), "ffn_down": (e, f)}
    perm = {"attn_q": hp.n_head, "attn_k": hp.n_head_kv} if hp.arch == "llama" else {}
    out = [TensorSpec("token_embd.weight", "model.embed_tokens.weight", "embedding", (hp.n_vocab, e))]
    for i in range(hp.n_layer):
        p = f"model.layers.{i}."
        out.append(TensorSpec(f"blk.{i}.attn_norm.weight", p + "input_layernorm.weight", "norm", (e,)))
        for hf, g in LINEAR.items():
            out.append(TensorSpec(f"blk.{i}.{g}.weight", f"{p}{hf}.weight", "linear", shapes[g], perm.get(g, 0)))
            if g == "attn_output":
                out.append(TensorSpec(f"blk.{i}.ffn_norm.weight", p + "post_attention_layernorm.weight", "norm", (e,)))
        if hp.arch == "bitnet":
            for g, candidates in SUB_NORMS.items():
                hf = next((c for c in candidates if f"{p}{c}.weight" in names), candidates[0])
                out.append(TensorSpec(f"blk.{i}.{g}.weight", f"{p}{hf}.weight", "norm", (e if g[0] == "a" else f,)))
    out.append(TensorSpec("output_norm.weight", "model.norm.weight", "norm", (e,)))
    if not hp.tied:
        out.append(TensorSpec("output.weight", "lm_head.weight", "head", (hp.n_vocab, e)))
    return out


def _tq_problems(hp: HParams) -> list[str]:
    """Why some linear layer cannot be stored in TQ1_0/TQ2_0 blocks (its input size), if so."""
    inputs = [("the hidden size", hp.n_embd), ("the intermediate size", hp.n_ff)]
    if hp.n_head * hp.head_dim != hp.n_embd:
        inputs.append(("the attention width (heads × head size)", hp.n_head * hp.head_dim))
    return [f"{what} {size} is not a multiple of {QK}" for what, size in inputs if size % QK]


def scale_name(hf_weight: str) -> str:
    return hf_weight[: -len("weight")] + "weight_scale"


def match_kind(plan: ModelPlan, tensors: dict[str, STensor]) -> str:
    """Check the headers against the plan and return the checkpoint's kind; raises ConvertError."""
    used: set[str] = set()
    kinds: set[str] = set()
    for spec in plan.tensors:
        t = tensors.get(spec.hf)
        if t is None:
            raise ConvertError(plan.source, f"tensor {spec.hf} is missing from its safetensors files "
                               "(the config says it should be there)", code="missing_tensor")
        used.add(spec.hf)
        where = f"{plan.source}/{t.file} (tensor {spec.hf})"
        if spec.role == "linear" and t.dtype == "U8":
            kinds.add("packed")
            rows = math.ceil(spec.shape[0] / 4)
            if t.shape != (rows, spec.shape[1]):
                raise ConvertError(where, f"its packed shape {list(t.shape)} does not match the config: "
                                   f"a {spec.shape[0]}×{spec.shape[1]} layer packs into [{rows}, {spec.shape[1]}]",
                                   code="shape_mismatch")
            s = tensors.get(scale_name(spec.hf))
            if s is None or s.dtype not in FLOATS or s.n_elements != 1:
                raise ConvertError(where, "a packed layer needs its one-number weight_scale tensor, which is "
                                   + ("missing" if s is None else f"{s.dtype} {list(s.shape)}"), code="missing_tensor")
            used.add(s.name)
            continue
        if t.dtype not in FLOATS:
            raise ConvertError(where, f"its dtype {t.dtype} is not a float type (F32, F16, BF16)", code="bad_dtype")
        if t.shape != spec.shape:
            raise ConvertError(where, f"its shape {list(t.shape)} does not match the config's {list(spec.shape)}",
                               code="shape_mismatch")
        if spec.role == "linear":
            kinds.add("float")
    if plan.hp.tied:
        used.add("lm_head.weight")
    extra = sorted(n for n in tensors if n not in used and not n.endswith(IGNORED_SUFFIXES))
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        raise ConvertError(plan.source, f"it holds tensors Tern does not know where to put ({', '.join(extra[:3])}"
                           f"{more})", "Biases and extra layers have no place in llama.cpp's graph.",
                           code="unexpected_tensor")
    return _kind(plan, kinds)


def _kind(plan: ModelPlan, kinds: set[str]) -> str:
    if kinds == {"packed"}:
        if plan.quant_method != "bitnet":
            raise ConvertError(plan.source, "its weights are packed uint8 but config.json has no BitNet "
                               "quantization_config saying how to read them", code="bad_config")
        return PACKED_AUTOBITLINEAR if plan.linear_class == "autobitlinear" else PACKED_BITLINEAR
    if kinds != {"float"}:
        raise ConvertError(plan.source, "some linear layers are packed and some are floats", code="bad_file")
    if plan.quant_method == "bitnet" and plan.quant_mode == "offline":
        raise ConvertError(plan.source, "config.json says the weights are packed (offline BitNet) but they are "
                           "floats", code="bad_config")
    if plan.quant_method == "bitnet" or plan.hf_arch in BITNET_ARCHS:
        return MASTER_WEIGHTS
    return TERNARY_FLOATS
