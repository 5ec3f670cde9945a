"""Convert published ternary checkpoints into GGUF files mainline llama.cpp runs (TQ2_0/TQ1_0).

Sources: packed BitLinear / AutoBitLinear safetensors, full-precision master weights, already-ternary
floats (a Hugging Face model folder), and bitnet.cpp I2_S GGUF files. See FORMATS.md for the formats.

For a Hub pipeline:
- `check_safetensors` / `check_i2s` give the verdict from headers fetched with HTTP ranges
  (`safetensors.parse_header` and `gguf_header.parse_header` read through a ByteSource);
- `convert_and_register(registry, path, repo=..., revision=..., source_sha256=..., progress=..., cancel=...)`
  converts the downloaded files and records the variant (`head_encoding`: the output head in f16, q8_0
  or q6_k — `HEAD_ENCODINGS`, `DEFAULT_HEAD`); `ConvertError` names the repo/file and the reason,
  `ConvertCancelled` means the user stopped it; in both cases nothing is kept.
"""

from backend.models.convert.convert import (
    CONVERTER_VERSION,
    ConvertProgress,
    ConvertResult,
    convert_file,
    plan_output,
)
from backend.models.convert.errors import ConvertCancelled, ConvertError
from backend.models.convert.gguf_out import DEFAULT_HEAD, HEAD_ENCODINGS
from backend.models.convert.register import convert_and_register, default_name
from backend.models.convert.verdict import ConvertVerdict, check_i2s, check_local, check_safetensors

__all__ = [
    "CONVERTER_VERSION", "DEFAULT_HEAD", "HEAD_ENCODINGS", "ConvertCancelled", "ConvertError", "ConvertProgress",
    "ConvertResult", "ConvertVerdict",
    "check_i2s", "check_local", "check_safetensors", "convert_and_register", "convert_file", "default_name",
    "plan_output",
]
