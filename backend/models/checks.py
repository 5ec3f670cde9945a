"""Preflight checks before a model file reaches llama.cpp, which aborts on some bad inputs."""

from __future__ import annotations

import re
from pathlib import Path

from backend.errors import ModelFileError
from backend.models.gguf_header import I2_S_TYPE, GGUFHeader, HeaderError, read_header, type_name
from backend.models.ram_fit import RamFit, kv_cache_bytes, ram_fit

# Architectures mainline llama.cpp (as bundled by llama-cpp-python) builds a graph for, that a
# ternary model is likely to use. Others may load too; these are the ones Tern has checked.
SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


def split_parts(path: Path, header: GGUFHeader) -> list[Path]:
    """All files of a split model, given its first part; [path] for an ordinary file."""
    if header.split_count <= 1:
        return [path]
    m = SPLIT_RE.match(path.name)
    if not m:
        return [path]
    count = int(m["count"])
    return [path.with_name(f"{m['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]


def check_header(path: Path, header: GGUFHeader) -> None:
    """Refuse tensor encodings this llama.cpp cannot run, naming them, and headers that cannot describe a model."""
    if not header.tensors:
        raise ModelFileError(path, "it holds no tensors (no weights)", code="not_gguf")
    if header.split_count > 1 and not SPLIT_RE.match(path.name):
        raise ModelFileError(
            path, f"its header says it is one of {header.split_count} parts of a split model, but its name does not "
            f"say which (NAME-00001-of-{header.split_count:05d}.gguf)", "Keep the parts' original names.",
            code="missing_part",
        )
    if any(t.type_id == I2_S_TYPE for t in header.tensors):
        raise ModelFileError(
            path,
            "its weights are in I2_S, the format of Microsoft's bitnet.cpp, which llama.cpp cannot run",
            "Use a TQ1_0 or TQ2_0 GGUF of the same model instead (see the catalog).",
            code="unsupported_type",
        )
    unknown = header.unknown_types
    if unknown:
        names = ", ".join(type_name(t) for t in unknown)
        raise ModelFileError(
            path,
            f"it holds tensors of an encoding this build of llama.cpp cannot run ({names})",
            "The file may need a newer llama.cpp, or it was made by another tool.",
            code="unsupported_type",
        )


RELU2_PATCH = "0001-bitnet-relu2-ffn"


def check_activation(path: Path, header: GGUFHeader, patches: list[str] | None = None) -> None:
    """A `bitnet` model whose FFN uses ReLU² (BitNet b1.58 2B-4T) needs Tern's engine patch: stock
    llama.cpp hard-codes SiLU in that graph and would write plausible nonsense instead of failing.
    `patches` defaults to the running engine's (backend.engine.build_info.engine_patches)."""
    if header.architecture != "bitnet":
        return
    act = header.metadata.get("bitnet.hidden_activation")
    if act in (None, "silu"):
        return
    if act != "relu2":
        raise ModelFileError(path, f"its bitnet.hidden_activation is {str(act)[:40]!r}, which no llama.cpp graph "
                             "computes", code="unsupported_model")
    if patches is None:
        from backend.engine.build_info import engine_patches

        patches = engine_patches()
    if RELU2_PATCH not in patches:
        raise ModelFileError(
            path, "its FFN uses ReLU² (bitnet.hidden_activation = relu2) and this llama.cpp build lacks Tern's "
            f"{RELU2_PATCH} patch, so it would compute SiLU instead and write plausible nonsense",
            "Install Tern's engine build (`make venv` builds it with the patch set).", code="engine_lacks_patch")


def check_size(path: Path, header: GGUFHeader) -> None:
    expected = header.expected_file_size
    actual = path.stat().st_size
    if expected is not None and actual < expected:
        raise ModelFileError(
            path,
            f"the file is truncated: it holds {actual:,} bytes but its tensors need {expected:,}",
            "The download probably stopped early; download it again.",
            code="truncated",
        )


def preflight(path: str | Path, n_ctx: int = 2048, available_ram: int | None = None) -> tuple[GGUFHeader, RamFit]:
    """Everything Tern can know about a model file without loading it; raises ModelFileError."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(path, "the file does not exist", code="not_found")
    if not path.is_file():
        raise ModelFileError(path, "it is a folder, not a GGUF file", code="not_found")
    try:
        header = read_header(path)
    except HeaderError as e:
        raise ModelFileError(path, e.reason, code="not_gguf") from e
    except OSError as e:
        raise ModelFileError(path, f"it cannot be read ({e.strerror})", code="unreadable") from e
    check_header(path, header)
    check_activation(path, header)
    total = 0
    for part in split_parts(path, header):
        if not part.exists():
            raise ModelFileError(
                path, f"it is one part of a split model and part {part.name} is missing",
                "Download every part of the model into the same folder.", code="missing_part",
            )
        part_header = header if part == path else read_header(part)
        check_size(part, part_header)
        total += part.stat().st_size
    n_ctx = min(n_ctx, header.context_length or n_ctx)
    fit = ram_fit(total, kv_cache_bytes(header, n_ctx), available_ram)
    if fit.verdict == "won't fit":
        raise ModelFileError(
            path,
            f"the model is larger than the memory available: {fit.describe()}",
            "Close other programs, pick a smaller model or a shorter context, or use TQ1_0.",
            code="too_big",
        )
    return header, fit
