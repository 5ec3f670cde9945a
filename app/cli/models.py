"""`tern models …`: the catalog, Hub search, check-before-download, downloads, variants, the library.

Every subcommand takes `--json` (one JSON object per line: progress events, then the result, or
an `error` event). Long operations stop cleanly on Ctrl-C: a download keeps its partial file and
the same command resumes it; a derivation keeps nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.cli.output import emit_json
from app.context import AppContext
from backend.errors import TernError
from backend.hub import (
    Progress,
    catalog_status,
    download_model,
    inspect_remote,
    load_catalog,
    pending_downloads,
    remove_model,
    search,
)
from backend.hub.names import printable
from backend.models.derive import DeriveProgress, derive_variant
from backend.models.importer import import_model
from backend.units import rate, size

ORDER = 30


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
    c = cmd("search", "search the Hub for ternary GGUF repos (no TEXT: TQ1_0, TQ2_0, 1.58, bitnet, ternary)",
            run_search)
    c.add_argument("text", nargs="?", default="")
    c.add_argument("--limit", type=int, default=20)
    _token_args(c)
    c = cmd("inspect", "read a Hub file's header (a few hundred KB) — or a safetensors repo's config and headers — "
            "and say whether it runs here, or converts here", run_inspect)
    c.add_argument("repo")
    c.add_argument("file", nargs="?", help="a GGUF file, or a .safetensors file for the repo's safetensors weights "
                                           "(default: what `download` would take)")
    c.add_argument("--ctx", type=int, default=0, help="context length for the RAM fit (default: settings)")
    _token_args(c)
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
    c.add_argument("--no-check", action="store_true", help="skip the header check (not recommended)")
    c.add_argument("--ctx", type=int, default=0)
    _token_args(c)
    c = cmd("derive", "make another variant of the same weights (F16, TQ1_0, TQ2_0)", run_derive)
    c.add_argument("model", help="a model name (`name` or `name:ENCODING`)")
    c.add_argument("--to", required=True, choices=["f16", "tq1_0", "tq2_0"])
    c.add_argument("--threads", type=int, default=0)
    c = cmd("convert", "convert a ternary checkpoint (a safetensors model folder, or a bitnet.cpp I2_S .gguf) to "
            "TQ2_0/TQ1_0 and add it to the library", run_convert)
    c.add_argument("source", help="a Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or an "
                                  "I2_S .gguf file")
    c.add_argument("--to", default="tq2_0", choices=["tq2_0", "tq1_0"], help="linear weights' encoding")
    c.add_argument("--name", help="local model name (default: from the folder or file name)")
    c = cmd("import", "add a GGUF file from disk to the library", run_import)
    c.add_argument("path")
    c.add_argument("--name", help="local model name (default: from the file name)")
    c.add_argument("--copy", action="store_true", help="copy the file into Tern's data dir")
    cmd("list", "local models, their variants, sizes, encodings and provenance", run_list)
    c = cmd("remove", "remove a model (or one variant) and the files Tern owns", run_remove)
    c.add_argument("model", help="`name` or `name:ENCODING`")


def _token_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--token-file", type=Path, help="read a Hugging Face token from this file (default: HF_TOKEN, "
                                                   "then the token `hf auth login` saved)")


def _token(args: argparse.Namespace) -> str | None:
    f = getattr(args, "token_file", None)
    return f.expanduser().read_text(encoding="utf-8").strip() if f else None


def _guard(func: Any, args: argparse.Namespace) -> int:
    if AppContext().settings.offline:  # the app's "work offline" setting means the same as HF_HUB_OFFLINE
        os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        return int(func(args) or 0)
    except TernError as e:
        if args.json:
            emit_json({"event": "error", "code": getattr(e, "code", "error"), "message": str(e)})
        print(f"tern: {e}", file=sys.stderr)
        return 130 if getattr(e, "code", "") == "cancelled" else 1


def _ctx(args: argparse.Namespace, ctx: AppContext) -> int:
    return getattr(args, "ctx", 0) or ctx.settings.n_ctx


# -- catalog, search, inspect ----------------------------------------------------------------

def run_catalog(args: argparse.Namespace) -> int:
    ctx = AppContext()
    n_ctx = _ctx(args, ctx)
    cat = load_catalog()
    status = catalog_status(ctx.registry)
    if args.json:
        for e in cat.entries:
            d = e.to_dict(n_ctx)
            for f in d["files"]:
                f["status"] = status[e.id][f["name"]]
            emit_json({"event": "entry", **d})
        for b in cat.incompatible:
            emit_json({"event": "incompatible", "repo": b.repo, "title": b.title, "reason": b.reason})
        return 0
    for e in cat.entries:
        chat = {True: "chat-tuned", False: "base model", None: "chat: unknown — see the repo page"}[e.chat]
        check = {"yes": "", "convert": "  [converted on this computer]"}.get(
            e.runs, "  [not checked here: inspect before downloading]")
        print(f"{e.id}  —  {e.title}{check}\n  {e.repo}\n  {e.family}\n  parameters: {e.parameters}; {chat}; "
              f"licence: {e.license}")
        for f in e.files:
            print(f"    {f.name}  {f.encoding}  {f.size_text}  [{status[e.id][f.name]}]"
                  f"{'  (default)' if f.default and len(e.files) > 1 else ''}")
        if e.converted:
            out, disk = e.output_bytes(), e.disk_bytes()
            print(f"  converted to TQ2_0 here: ≈ {size(out)} on disk (estimate from the published dimensions)"
                  + (f", ≈ {size(disk)} of disk while converting" if disk else "") if out else
                  "  converted to TQ2_0 here: sizes unknown until the headers are read (`tern models inspect`)")
        print(f"  RAM at {n_ctx} tokens: {e.ram_text(None, n_ctx)}\n  F16 variant: {e.fp16}\n")
    print("Known not to run on llama.cpp:")
    for b in cat.incompatible:
        print(f"  {b.repo}: {b.reason}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    hits = search(args.text, token=_token(args), limit=args.limit)
    for h in hits:
        if args.json:
            emit_json({"event": "hit", **h.to_dict()})
            continue
        gated = "  [gated: needs a token]" if h.gated else ""
        print(f"{h.repo}  ({h.downloads or 0:,} downloads){gated}")
        for f in h.files:
            print(f"    {f.name}  {f.encoding_hint or '?'}  {size(f.size)}")
        for r in h.refused:
            print(f"    refused: {printable(r.name)} ({r.reason})")
        if h.error:
            print(f"    files unavailable: {h.error}")
        if not h.files and not h.error:
            print("    no GGUF files")
    if not hits and not args.json:
        print(f"No GGUF repos on the Hub match {args.text!r}." if args.text else "No ternary GGUF repos found.")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from backend.hub.api import repo_listing
    from backend.hub.library import choose_file

    ctx = AppContext()
    listing = None if args.file else repo_listing(args.repo, token=_token(args))
    name = args.file or choose_file(listing)  # type: ignore[arg-type]
    ins = inspect_remote(args.repo, name, token=_token(args), n_ctx=_ctx(args, ctx), listing=listing)
    if args.json:
        emit_json({"event": "inspection", **ins.to_dict()})
        return 0
    print(f"{args.repo}/{name}: {ins.verdict.text}")
    conv = ins.conversion
    if conv is not None:
        from backend.models.convert.plan import KIND_TEXT

        if conv.kind:
            print(f"  source: {KIND_TEXT.get(conv.kind, conv.kind)} → llama.cpp `{conv.arch or '?'}` graph, TQ2_0")
        for note in conv.notes:
            print(f"  note: {note}")
        print(f"  download {size(conv.download_bytes)} · converted file ≈ {size(conv.output_bytes)}"
              " (estimate from the headers)")
    h = ins.header
    if h is not None:
        encs = ", ".join(f"{k} {v / max(1, h.n_params):.0%}" for k, v in h.type_counts().items())
        print(f"  architecture {h.architecture} · {h.n_params / 1e6:,.1f}M parameters · context "
              f"{h.context_length or '—'} tokens · chat template: {'yes' if h.chat_template else 'no'}")
        print(f"  encodings (share of parameters): {encs}")
    if conv is None:
        print(f"  file {size(ins.size)}" + (f" · model (all {len(ins.parts)} parts) {size(ins.model_bytes)}"
                                             if len(ins.parts) > 1 else ""))
    if ins.ram is not None:
        print(f"  RAM at {ins.n_ctx} tokens: {ins.ram.describe()}")
    print(f"  read {size(ins.bytes_read)} from the Hub in {ins.requests} request(s), no weights")
    return 0


# -- download --------------------------------------------------------------------------------

class _Printer:
    """One progress line for every stage (download → convert → verify), rewritten in place."""

    def __init__(self, as_json: bool) -> None:
        self.as_json, self.last, self.stage = as_json, 0.0, ""

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < (0.5 if self.as_json else 0.2) and p.phase != "done" and p.stage == self.stage:
            return
        if p.stage != self.stage and self.stage and not self.as_json:
            print(file=sys.stderr)  # the finished stage keeps its last line
        self.last, self.stage = now, p.stage
        if self.as_json:
            emit_json({"event": "progress", "file": p.filename, "stage": p.stage, "stage_index": p.stage_index,
                       "stage_count": p.stage_count, "phase": p.phase, "done_bytes": p.done_bytes,
                       "total_bytes": p.total_bytes, "speed_bps": p.speed_bps, "eta_s": p.eta_s,
                       "file_index": p.file_index, "file_count": p.file_count, "resumed_bytes": p.resumed_bytes,
                       "detail": p.detail})
            return
        step = f"[{p.stage_index}/{p.stage_count}] " if p.stage_count > 1 else ""
        if p.stage != "download":
            what = f" {p.detail}" if p.detail else ""
            print(f"\r{step}{p.stage}{what}: {p.fraction:6.1%}  {size(p.done_bytes)} of {size(p.total_bytes)}"
                  + " " * 12, end="", file=sys.stderr, flush=True)
            return
        speed = rate(p.speed_bps)
        eta = f"ETA {_duration(p.eta_s)}" if p.eta_s is not None else "ETA —"
        part = f" ({p.file_index}/{p.file_count})" if p.file_count > 1 else ""
        print(f"\r{step}{p.phase} {p.filename}{part}: {p.fraction:6.1%}  {size(p.done_bytes)} of "
              f"{size(p.total_bytes)}  {speed}  {eta}   ", end="", file=sys.stderr, flush=True)


def _duration(s: float) -> str:
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _run_cancellable(work: Any) -> Any:
    """Run `work(cancel)` in a thread so Ctrl-C sets the cancel event instead of killing mid-write.

    Waits on an Event, not Thread.join: in CPython 3.11 a join interrupted by Ctrl-C can mark the
    thread stopped while it still runs (gh-90882), and the command would then return before the
    work had cleaned up after itself."""
    cancel, finished, box = threading.Event(), threading.Event(), {}

    def target() -> None:
        try:
            box["result"] = work(cancel)
        except BaseException as e:  # noqa: BLE001 - handed back to the main thread
            box["error"] = e
        finally:
            finished.set()

    t = threading.Thread(target=target, daemon=True, name="tern-models")
    t.start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        cancel.set()
        finished.wait()
    if "error" in box:
        raise box["error"]
    return box["result"]


def run_download(args: argparse.Namespace) -> int:
    ctx = AppContext()
    printer = _Printer(args.json)
    keep = args.keep_source or ctx.settings.keep_source
    result = _run_cancellable(lambda cancel: download_model(
        ctx.registry, args.repo, args.file, token=_token(args), progress=printer, cancel=cancel,
        n_ctx=_ctx(args, ctx), check=not args.no_check, model_name=args.name, retries=args.retries,
        keep_source=keep))
    v = result.variant
    if args.json:
        emit_json({"event": "done", **result.to_dict()})
        return 0
    print(file=sys.stderr)
    resumed = sum(f.resumed_from for f in result.files)
    note = f" (resumed: {size(resumed)} were already here)" if resumed else ""
    if result.converted:
        conv = v.info.get("converted", {})
        print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  converted on this computer from "
              f"{conv.get('source')} ({conv.get('kind_text')}), read back and checked against the source\n  {v.path}")
        kept = "kept in the Hugging Face cache" if keep else (
            "removed (" + ", ".join(result.source_removed) + ")" if result.source_removed
            else "left in place: it was in the cache before this download")
        print(f"  source files verified against the Hub's listing; downloaded source {kept}")
    else:
        check = "sha256 verified" if v.verified else "not verified: the Hub lists no sha256 for it"
        print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  {check}{note}\n  {v.path}")
    if result.inspection and result.inspection.ram:
        print(f"  RAM at {result.inspection.n_ctx} tokens: {result.inspection.ram.describe()}")
    print(f"Try: tern generate {v.model_name} --prompt 'Hello'   ·   F16 variant: "
          f"tern models derive {v.model_name} --to f16")
    return 0


# -- derive, import, list, remove ------------------------------------------------------------

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

    v = _run_cancellable(lambda cancel: derive_variant(ctx.registry, args.model, args.to, progress, cancel,
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

    v = _run_cancellable(lambda cancel: convert_and_register(ctx.registry, args.source, name=args.name,
                                                             target=args.to, progress=progress, cancel=cancel))
    if args.json:
        emit_json({"event": "done", **_variant_dict(v), "converted": v.info.get("converted")})
        return 0
    print(file=sys.stderr)
    conv = v.info.get("converted", {})
    print(f"{v.model_name}:{v.encoding.lower()}  {size(v.file_bytes)}  {v.path}\n  from {conv.get('source')}: "
          f"{conv.get('kind_text')} → llama.cpp `{conv.get('arch')}` graph\n  sha256 {v.sha256}")
    print(f"Try: tern generate {v.model_name} --prompt 'Hello'   ·   F16 variant: "
          f"tern models derive {v.model_name} --to f16")
    return 0


def run_import(args: argparse.Namespace) -> int:
    ctx = AppContext()
    v = _run_cancellable(lambda cancel: import_model(ctx.registry, args.path, args.name, args.copy,
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
                       "variants": [_variant_dict(v) for v in m.variants]})
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
