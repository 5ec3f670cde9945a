"""`tern models catalog | search | inspect | download`: the Hub side of `tern models` (models.py registers them).

A download of a source Tern converts shows one progress line through its stages (download → convert →
verify). Long operations run on a thread so Ctrl-C sets the cancel event instead of killing a write: a
download keeps its partial file (the same command resumes it), a conversion keeps nothing.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

from app.cli.output import emit_json
from app.context import AppContext
from backend.hub import Progress, catalog_status, download_model, inspect_remote, load_catalog, search
from backend.hub.names import printable
from backend.units import rate, size


def token_args(c: argparse.ArgumentParser) -> None:
    c.add_argument("--token-file", type=Path, help="read a Hugging Face token from this file (default: HF_TOKEN, "
                                                   "then the token `hf auth login` saved)")


def hub_token(args: argparse.Namespace) -> str | None:
    f = getattr(args, "token_file", None)
    return f.expanduser().read_text(encoding="utf-8").strip() if f else None


def context_length(args: argparse.Namespace, ctx: AppContext) -> int:
    return getattr(args, "ctx", 0) or ctx.settings.n_ctx


def run_catalog(args: argparse.Namespace) -> int:
    ctx = AppContext()
    n_ctx = context_length(args, ctx)
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
    hits = search(args.text, token=hub_token(args), limit=args.limit)
    for h in hits:
        if args.json:
            emit_json({"event": "hit", **h.to_dict()})
            continue
        gated = "  [gated: needs a token]" if h.gated else ""
        print(f"{h.repo}  ({h.downloads or 0:,} downloads){gated}")
        for f in h.files:
            print(f"    {f.name}  {f.encoding_hint or '?'}  {size(f.size)}")
        if h.weights:
            total = sum(w.size or 0 for w in h.weights)
            print(f"    {h.weights[0].name}" + (f" (+{len(h.weights) - 1} more)" if len(h.weights) > 1 else "")
                  + f"  safetensors  {size(total)}  — converted on this computer (`tern models inspect {h.repo}`)")
        for r in h.refused:
            print(f"    refused: {printable(r.name)} ({r.reason})")
        if h.error:
            print(f"    files unavailable: {h.error}")
        if not h.files and not h.weights and not h.error:
            print("    no GGUF files or safetensors weights")
    if not hits and not args.json:
        print(f"No GGUF repos on the Hub match {args.text!r}." if args.text else "No ternary GGUF repos found.")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from backend.hub.api import repo_listing
    from backend.hub.library import choose_file

    ctx = AppContext()
    listing = None if args.file else repo_listing(args.repo, token=hub_token(args))
    name = args.file or choose_file(listing)  # type: ignore[arg-type]
    ins = inspect_remote(args.repo, name, token=hub_token(args), n_ctx=context_length(args, ctx), listing=listing)
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


def run_cancellable(work: Any) -> Any:
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
    result = run_cancellable(lambda cancel: download_model(
        ctx.registry, args.repo, args.file, token=hub_token(args), progress=printer, cancel=cancel,
        n_ctx=context_length(args, ctx), check=not args.no_check, model_name=args.name, retries=args.retries,
        keep_source=keep, head_encoding=args.head))
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
              f"{conv.get('source')} ({conv.get('kind_text')}; output head {conv.get('head_encoding')}), read back "
              f"and checked against the source\n  {v.path}")
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
