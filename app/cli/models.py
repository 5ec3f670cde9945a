"""`tern models …`: the catalog, Hub search, check-before-download, downloads, variants, the library.

Every subcommand takes `--json` (one JSON object per line: progress events, then the result, or
an `error` event). Long operations stop cleanly on Ctrl-C: a download keeps its partial file and
the same command resumes it; a derivation keeps nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.cli.models_hub import run_cancellable, run_catalog, run_download, run_inspect, run_search, token_args
from app.cli.models_threads import facts_lines, run_calibrate
from app.cli.output import emit_json
from app.context import AppContext
from backend.engine.threads import variant_facts
from backend.errors import TernError
from backend.hub import (
    pending_downloads,
    remove_model,
)
from backend.models.derive import DeriveProgress, derive_variant
from backend.models.importer import import_model
from backend.units import size

ORDER = 30
WRITES = {"download": "download a model", "derive": "make a variant", "import": "import a model",
          "remove": "remove a model"}  # subcommands whose point is to record something in the library


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("models", help="find, check, download, derive and manage models")
    msub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND", required=True)

    def cmd(name: str, help_: str, func: Any) -> argparse.ArgumentParser:
        c = msub.add_parser(name, help=help_)
        c.add_argument("--json", action="store_true", help="machine-readable output, one JSON object per line")
        c.set_defaults(func=lambda a: _guard(func, a))
        return c

    c = cmd("catalog", "the curated 1.58-bit models, with sizes, RAM needed and what is downloaded", run_catalog)
    c.add_argument("--ctx", type=int, default=0, help="context length for the RAM figures (default: settings)")
    c = cmd("search", "search the Hub for GGUF repos and ternary safetensors repos (no TEXT: TQ1_0, TQ2_0, 1.58, "
            "bitnet, ternary)", run_search)
    c.add_argument("text", nargs="?", default="")
    c.add_argument("--limit", type=int, default=20)
    token_args(c)
    c = cmd("inspect", "read a Hub file's header (a few hundred KB) — or a safetensors repo's config and headers — "
            "and say whether it runs here, or converts here", run_inspect)
    c.add_argument("repo")
    c.add_argument("file", nargs="?", help="a GGUF file, or a .safetensors file for the repo's safetensors weights "
                                           "(default: what `download` would take)")
    c.add_argument("--ctx", type=int, default=0, help="context length for the RAM fit (default: settings)")
    token_args(c)
    c = cmd("download", "download a model (resumable, verified); a bitnet.cpp I2_S GGUF or a ternary safetensors repo "
            "is converted to TQ2_0 on this computer", run_download)
    c.add_argument("repo")
    c.add_argument("file", nargs="?", help="the GGUF file, or a .safetensors file for the repo's safetensors weights "
                                           "(default: the catalog's choice, the only ternary GGUF, the safetensors "
                                           "weights, the only I2_S GGUF)")
    c.add_argument("--keep-source", action="store_true", help="keep a converted model's downloaded source in the "
                                                              "Hugging Face cache (default: the keep_source setting; "
                                                              "off: removed once the conversion is verified)")
    c.add_argument("--name", help="local model name (default: from the catalog or the file name)")
    c.add_argument("--retries", type=int, default=3, help="resume attempts after a dropped connection")
    head_arg(c)
    c.add_argument("--no-check", action="store_true", help="skip the header check (not recommended)")
    c.add_argument("--ctx", type=int, default=0)
    token_args(c)
    c = cmd("derive", "make another variant of the same weights (F16, TQ1_0, TQ2_0)", run_derive)
    c.add_argument("model", help="a model name (`name` or `name:ENCODING`)")
    c.add_argument("--to", required=True, choices=["f16", "tq1_0", "tq2_0"])
    c.add_argument("--threads", type=int, default=0)
    c = cmd("convert", "convert a ternary checkpoint (a safetensors model folder, or a bitnet.cpp I2_S .gguf) to "
            "TQ2_0/TQ1_0 and add it to the library", run_convert)
    c.add_argument("source", help="a Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or an "
                                  "I2_S .gguf file")
    c.add_argument("--to", default="tq2_0", choices=["tq2_0", "tq1_0"], help="linear weights' encoding")
    head_arg(c)
    c.add_argument("--name", help="local model name (default: from the folder or file name)")
    c = cmd("import", "add a GGUF file from disk to the library", run_import)
    c.add_argument("path")
    c.add_argument("--name", help="local model name (default: from the file name)")
    c.add_argument("--copy", action="store_true", help="copy the file into Tern's data dir")
    cmd("list", "local models, their variants, sizes, encodings and provenance, threads and weights read per token",
        run_list)
    c = cmd("calibrate", "measure the best decode and prompt threads for a model on this computer (a few seconds per "
            "variant; kept, and used while Settings say Threads: Automatic)", run_calibrate)
    c.add_argument("model", help="`name` (every variant) or `name:ENCODING`")
    c = cmd("remove", "remove a model (or one variant) and the files Tern owns", run_remove)
    c.add_argument("model", help="`name` or `name:ENCODING`")


def head_arg(c: argparse.ArgumentParser) -> None:
    from backend.models.convert import DEFAULT_HEAD, HEAD_ENCODINGS

    c.add_argument("--head", default=DEFAULT_HEAD, choices=list(HEAD_ENCODINGS),
                   help="a converted model's output head (the token embeddings when tied): f16 is exact, q8_0 and "
                        f"q6_k read less per token (default: {DEFAULT_HEAD})")


def _guard(func: Any, args: argparse.Namespace) -> int:
    ctx = AppContext()
    if ctx.settings.offline:  # the app's "work offline" setting means the same as HF_HUB_OFFLINE
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        if args.models_command in WRITES:
            ctx.require_saving(WRITES[args.models_command])
        return int(func(args) or 0)
    except TernError as e:
        if args.json:
            emit_json({"event": "error", "code": getattr(e, "code", "error"), "message": str(e)})
        print(f"tern: {e}", file=sys.stderr)
        return 130 if getattr(e, "code", "") == "cancelled" else 1


def run_derive(args: argparse.Namespace) -> int:
    ctx = AppContext()
    last = [0.0]

    def progress(p: DeriveProgress) -> None:
        now = time.monotonic()
        if now - last[0] < 0.3 and p.phase != "done":
            return
        last[0] = now
        if args.json:
            emit_json({"event": "progress", "phase": p.phase, "fraction": round(p.fraction, 4),
                       "done_bytes": p.done_bytes, "total_bytes": p.total_bytes})
        else:
            print(f"\r{p.phase}: {p.fraction:6.1%} ({size(p.done_bytes)} of ≈{size(p.total_bytes)})   ", end="",
                  file=sys.stderr, flush=True)

    v = run_cancellable(lambda cancel: derive_variant(ctx.registry, args.model, args.to, progress, cancel,
                                                       threads=args.threads or None))
    if args.json:
        emit_json({"event": "done", **_variant_dict(v)})
        return 0
    print(file=sys.stderr)
    print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  {v.path}\n  from {v.derived_from_path}"
          f"\n  source sha256 {v.derived_from_sha256}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from backend.models.convert import ConvertProgress, convert_and_register

    ctx = AppContext()
    last: list[Any] = [0.0, ""]

    def progress(p: ConvertProgress) -> None:  # every stage's first report, then at most ~3 a second
        now = time.monotonic()
        if now - last[0] < 0.3 and p.phase == last[1]:
            return
        last[:] = [now, p.phase]
        if args.json:
            emit_json({"event": "progress", "phase": p.phase, "fraction": round(p.fraction, 4),
                       "done_bytes": p.done_bytes, "total_bytes": p.total_bytes, "detail": p.detail})
        else:
            what = f" {p.detail}" if p.detail else ""
            amount = f": {p.fraction:6.1%} ({size(p.done_bytes)} of {size(p.total_bytes)})" if p.total_bytes else ""
            print(f"\r{p.phase}{what}{amount}" + " " * 12, end="", file=sys.stderr, flush=True)

    v = run_cancellable(lambda cancel: convert_and_register(ctx.registry, args.source, name=args.name,
                                                             target=args.to, head_encoding=args.head,
                                                             progress=progress, cancel=cancel))
    if args.json:
        emit_json({"event": "done", **_variant_dict(v), "converted": v.info.get("converted")})
        return 0
    print(file=sys.stderr)
    conv = v.info.get("converted", {})
    print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  {v.path}\n  from {conv.get('source')}: "
          f"{conv.get('kind_text')} → llama.cpp `{conv.get('arch')}` graph, output head "
          f"{conv.get('head_encoding')}\n  sha256 {v.sha256}")
    print(f"Try: tern generate {v.model_name} --prompt 'Hello'   ·   F16 variant: "
          f"tern models derive {v.model_name} --to f16")
    return 0


def run_import(args: argparse.Namespace) -> int:
    ctx = AppContext()
    v = run_cancellable(lambda cancel: import_model(ctx.registry, args.path, args.name, args.copy,
                                                     n_ctx=ctx.settings.n_ctx, cancel=cancel))
    if args.json:
        emit_json({"event": "done", **_variant_dict(v)})
        return 0
    print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  {v.path}\n  sha256 {v.sha256}")
    return 0


def _variant_dict(v: Any) -> dict[str, Any]:
    return {"model": v.model_name, "encoding": v.encoding, "path": str(v.path), "file_bytes": v.file_bytes,
            "source": v.source, "sha256": v.sha256, "source_repo": v.source_repo, "source_file": v.source_file,
            "derived_from_path": v.derived_from_path, "derived_from_sha256": v.derived_from_sha256,
            "verified": v.verified, "complete": v.complete, "quarantined": v.quarantined, "usable": v.usable,
            "label": v.info.get("label")}


def run_list(args: argparse.Namespace) -> int:
    ctx = AppContext()
    models = ctx.registry.models()
    pending = pending_downloads()
    if args.json:
        for m in models:
            emit_json({"event": "model", "name": m.name, "family": m.family, "repo": m.repo, "n_params": m.n_params,
                       "chat": m.chat, "license": m.license, "synthetic": m.synthetic,
                       "variants": [{**_variant_dict(v), **(variant_facts(v.path, ctx.settings.threads)
                                                            if v.usable else {})} for v in m.variants]})
        for p in pending:
            emit_json({"event": "partial", "repo": p.repo, "file": p.filename, "have_bytes": p.have_bytes,
                       "size": p.size})
        return 0
    if not models:
        print("No local models yet. Try `tern models catalog`, or `tern demo` for an offline synthetic pair.")
    for m in models:
        print(f"{m.name}" + (f"  ({m.repo})" if m.repo else ""))
        for v in m.variants:
            state = "QUARANTINED (sha256 mismatch; download again)" if v.quarantined else \
                ("verified" if v.verified else "not verified") if v.usable else "missing"
            origin = {"hub": f"from {v.source_repo}", "derived": f"derived from {Path(v.derived_from_path or '').name}",
                      "imported": "imported", "synthetic": "synthetic"}.get(v.source, v.source)
            print(f"    {v.encoding:6s} {size(v.file_bytes):>10s}  {state}; {origin}\n           {v.path}")
            if v.usable:
                print("\n".join(f"           {line}" for line in facts_lines(v.path, ctx.settings.threads)))
    for p in pending:
        print(f"partial download: {p.repo}/{p.filename}  {size(p.have_bytes)} of {size(p.size)} — "
              f"`tern models download {p.repo} {p.filename}` resumes it")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    ctx = AppContext()
    name, _, enc = args.model.partition(":")
    r = remove_model(ctx.registry, name, enc or None)
    if args.json:
        emit_json({"event": "done", **r.to_dict()})
        return 0
    print(f"Removed {args.model}: {size(r.freed_bytes)} freed ({len(r.deleted)} files deleted).")
    for k in r.kept:
        print(f"  kept your file {k} (imported in place)")
    return 0
