"""Convert and record the result in the model registry, like a download, with its provenance.

Provenance lives in the variant's `info` (JSON): the source (repo id or folder), its revision when
known, each source file's sha256, the converter's version and kind, the output head's encoding (as
written, and as asked for), what was renamed or replaced in the metadata. The registry's own columns
carry the output's sha256 and the source repo/file, so `tern models list` and the Library read it as for
any other variant.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from backend.models.convert.convert import CONVERTER_VERSION, ConvertResult, ProgressFn, convert_file
from backend.models.convert.errors import ConvertError
from backend.models.convert.gguf_out import DEFAULT_HEAD, ENCODING
from backend.models.registry import Registry, Variant
from backend.paths import paths

_NAME_OK = re.compile(r"[^A-Za-z0-9._-]+")


def default_name(src: Path, repo: str | None) -> str:
    """A local model name from the repo id or the folder/file name (safe as a file name)."""
    if repo:
        base = repo.split("/")[-1]
    elif src.is_dir() or not src.stem.lower().startswith("ggml-model"):
        base = src.name if src.is_dir() else src.stem
    else:  # bitnet.cpp's files are all called ggml-model-i2_s.gguf: the folder says which model it is
        base = src.parent.name
    base = re.sub(r"(?i)[-_.](gguf|i2_s)$", "", base) or "converted"
    return _NAME_OK.sub("-", base).strip("-.") or "converted"


def convert_and_register(registry: Registry, src: str | Path, *, name: str | None = None, target: str = "tq2_0",
                         head_encoding: str = DEFAULT_HEAD, repo: str | None = None, revision: str | None = None,
                         source_sha256: dict[str, str] | None = None, progress: ProgressFn | None = None,
                         cancel: threading.Event | None = None, out_dir: Path | None = None) -> Variant:
    """Convert `src` (a safetensors folder or an I2_S .gguf) and register it as model `name`'s variant.

    `repo`/`revision` name where the source came from (a Hub pipeline passes them; a local folder
    records its path). Raises ConvertError / ConvertCancelled; on either nothing is registered and
    no file is left behind.
    """
    src = Path(src).expanduser().absolute()
    target = target.lower()
    if target not in ENCODING:
        raise ConvertError(src, f"{target!r} is not a target", "Choose tq2_0 or tq1_0.", code="bad_target")
    name = _NAME_OK.sub("-", name).strip("-.") if name else default_name(src, repo)
    if not name:
        raise ConvertError(src, "the model name is empty", "Pass --name.", code="bad_name")
    enc = ENCODING[target]
    model = registry.find(name)
    if model is not None and model.variant(enc) is not None:
        raise ConvertError(src, f"the library already has {name}:{enc.lower()}",
                           "Choose another --name, or remove that variant first.", code="exists")
    folder = out_dir or paths().models / "converted"
    dest = folder / f"{name}-{enc}.gguf"
    source = repo or str(src)
    result = convert_file(src, dest, target=target, head_encoding=head_encoding, name=name, source=source,
                          source_sha256=source_sha256, progress=progress, cancel=cancel)
    try:
        return _register(registry, result, name, enc, src, repo, revision, head_encoding)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _register(registry: Registry, r: ConvertResult, name: str, enc: str, src: Path, repo: str | None,
              revision: str | None, head_encoding: str) -> Variant:
    main = max((p for p in r.output.inputs if p.suffix in (".safetensors", ".gguf")), key=lambda p: p.stat().st_size)
    info = {
        "converted": {
            "converter": "tern", "converter_version": CONVERTER_VERSION, "converted_at": time.time(),
            "source": repo or str(src), "revision": revision, "source_files": r.source_sha256, **r.output.info,
            "head_encoding_requested": head_encoding.upper(),
            "verification": "header re-read; first and last linear layers decoded back and equal to the source's "
                            "ternary weights; the output head's first rows decoded back within its encoding's "
                            "rounding",
        },
    }
    fields = {"n_params": r.output.n_params, "chat": int(bool(r.output.info.get("chat_template"))), "repo": repo}
    return registry.add_variant(name, r.path, enc, "converted", model_fields=fields, file_bytes=r.file_bytes,
                                sha256=r.sha256, source_repo=repo or str(src), source_file=main.name,
                                complete=1, verified=1, info=info)
