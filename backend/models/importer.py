"""Import a GGUF file from disk into the library (in place, or as a copy in Tern's data dir).

The file gets the same checks as a download — readable header, an encoding and architecture
this llama.cpp runs, no truncation, every part of a split model present — and then llama.cpp
itself loads it once, in a throwaway engine process (a file can pass every header check and still
be refused by llama.cpp, or abort it: in a child, that cannot take Tern down). Its sha256 is
recorded as provenance. A file that fails a check is refused with the reason, and nothing is
recorded. Blocks (loading and hashing); run it off the GUI thread.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from backend import units
from backend.errors import ModelFileError, TernError
from backend.hub.catalog import guess_model_name
from backend.hub.download import free_space
from backend.hub.remote import inspect_local
from backend.models import SYNTHETIC_LABEL
from backend.models.checks import preflight, split_parts
from backend.models.derive import DeriveCancelled, DeriveProgress, sha256_file
from backend.models.registry import Registry, Variant
from backend.paths import paths
from backend.text import printable

ProgressFn = Callable[[DeriveProgress], None]
NO_RAM_LIMIT = 1 << 62  # import does not refuse a model for today's free RAM; loading will say so
LOAD_CHECK_TIMEOUT_S = 300.0  # a load that takes longer is treated as a hang (it is mmap'ed: seconds at most)
LOAD_CHECK_CTX = 256  # the smallest context worth a load: the check is about the file, not the KV cache


GENERIC_STEMS = ("model", "ggml-model")  # names that say nothing about which model it is


def model_name(src: Path, given: str | None = None) -> str:
    """The local model name for an imported file — never empty, never a path.

    `given` (the user's --name) wins. Otherwise the file's own name without its encoding
    ("Llama3-8B-1.58-TQ2_0.gguf" → "llama3-8b-1.58"); for a name that says nothing ("model.gguf",
    "ggml-model-i2_s.gguf") the folder it is in; for one too short to lose its encoding ("x-TQ1_0.gguf")
    the whole stem ("x-tq1-0").
    """
    if given is not None and given.strip():
        name = given.strip()
        if any(c in name for c in "/\\") or name in (".", "..") or any(ord(c) < 32 for c in name):
            raise TernError(f"{name!r} cannot be a model name: it must not contain / or \\ or control "
                            "characters.", "Choose a plain name, e.g. --name my-model.")
        return name
    guessed = guess_model_name("", src.name)
    if guessed:
        return guessed
    stem = re.sub(r"[^a-z0-9.]+", "-", src.stem.lower()).strip("-.")
    if any(stem == g or stem.startswith(g + "-") for g in GENERIC_STEMS) and src.parent.name:
        guessed = guess_model_name(src.parent.name, src.name)
    return guessed or stem or "imported-model"


def import_model(registry: Registry, path: str | Path, name: str | None = None, copy: bool = False,
                 n_ctx: int = 2048, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> Variant:
    """Check `path` and record it as a variant of model `name` (default: from the file name).

    Raises ModelFileError (missing, not GGUF, truncated, I2_S, unknown architecture, missing part)
    or DeriveCancelled.
    """
    src = Path(path).expanduser().absolute()
    header, _ = preflight(src, n_ctx, available_ram=NO_RAM_LIMIT)  # existence, header, types, size, parts
    ins = inspect_local(src, n_ctx)
    if not ins.runs:
        raise ModelFileError(src, ins.verdict.text, "Tern can only use files llama.cpp runs.", code=ins.verdict.code)
    parts = split_parts(src, header)
    load_check(src, cancel)
    sha = sha256_file(src, progress, cancel)
    name = printable(model_name(src, name)) or "imported-model"  # a file name can carry escape sequences
    dest = src
    if copy:
        folder = paths().models / "imported" / name
        need = sum(p.stat().st_size for p in parts)
        free, where = free_space(folder)
        if need > free:
            raise ModelFileError(src, f"copying it needs {units.size(need)} but {where} has {units.size(free)} free",
                                 "Free some space, or import it in place (without --copy).", code="disk_full")
        folder.mkdir(parents=True, exist_ok=True)
        for part in parts:
            _copy(part, folder / part.name, cancel)
        dest = folder / src.name
    synthetic = bool(header.metadata.get("tern.synthetic"))
    info: dict[str, object] = {"original_path": str(src), "copied": copy, "parts": [p.name for p in parts],
                               "verdict": ins.verdict.text}
    if synthetic:
        info.update({"label": SYNTHETIC_LABEL, "shape": header.metadata.get("tern.shape"),
                     "seed": header.metadata.get("tern.seed")})
    fields = {"n_params": header.n_params, "chat": int(header.chat_template is not None), "synthetic": int(synthetic)}
    return registry.add_variant(name, dest, ins.verdict.encoding, "imported", model_fields=fields,
                                file_bytes=sum(p.stat().st_size for p in parts), sha256=sha, complete=1,
                                verified=0, info=info)


def load_check(path: Path, cancel: threading.Event | None = None,
               timeout_s: float = LOAD_CHECK_TIMEOUT_S) -> None:
    """Load `path` once in a throwaway engine; raise ModelFileError if llama.cpp refuses it, aborts or hangs."""
    from backend.engine import EngineClient, EngineCrashed, EngineError

    engine = EngineClient("import-check")
    outcome: dict[str, BaseException] = {}

    def load() -> None:
        try:
            engine.start()
            engine.load(path, n_ctx=LOAD_CHECK_CTX, n_threads=1, check=False)  # preflight has run
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = e

    worker = threading.Thread(target=load, daemon=True, name="tern-import-check")
    worker.start()
    deadline = time.monotonic() + timeout_s
    stopped = ""
    while worker.is_alive():
        worker.join(0.1)
        if cancel is not None and cancel.is_set():
            stopped = "cancelled"
        elif time.monotonic() > deadline:
            stopped = "timeout"
        if stopped:
            engine.close(timeout=2)  # the pending load then ends with EngineCrashed
            worker.join()
    engine.close()
    if stopped == "cancelled":
        raise DeriveCancelled("Import cancelled; nothing was kept.")
    if stopped == "timeout":
        raise ModelFileError(path, f"llama.cpp did not finish loading it within {timeout_s:.0f} s",
                             "The file is probably damaged.", code="engine_refused")
    error = outcome.get("error")
    if isinstance(error, EngineCrashed):
        # "The engine stopped unexpectedly while loading NAME (killed by SIGABRT …). Its last words: …"
        detail = re.sub(r"^The engine stopped unexpectedly while [^(]*", "", error.message).rstrip(".")
        raise ModelFileError(path, f"llama.cpp stopped while loading it {detail}",
                             "The file is damaged or was made for another program; Tern did not import it.",
                             code="engine_refused") from error
    if isinstance(error, EngineError):
        # the worker says "llama.cpp could not load PATH: Failed to load model from file: PATH"
        detail = error.message.replace(f"llama.cpp could not load {path}: ", "").replace(f": {path}", "")
        detail = detail.replace(str(path), path.name).rstrip(".")
        raise ModelFileError(path, f"llama.cpp cannot load it ({detail})",
                             "The file is damaged or was made for another program; Tern did not import it.",
                             code="engine_refused") from error
    if error is not None:
        raise error


def _copy(src: Path, dst: Path, cancel: threading.Event | None) -> None:
    """Copy through a `.part` name, so a cancelled or failed copy never looks like a model."""
    tmp = dst.with_name(dst.name + ".part")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(8 << 20):
                fout.write(block)
                if cancel is not None and cancel.is_set():
                    raise DeriveCancelled("Import cancelled; nothing was kept.")
        shutil.copystat(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
