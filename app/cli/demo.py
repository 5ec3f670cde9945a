"""`tern demo`: make the offline demo pair (synthetic, random weights) in the user data dir."""

from __future__ import annotations

import argparse
import sys

from app.cli.output import emit_json
from app.context import AppContext
from backend.models import SYNTHETIC_LABEL
from backend.models.demo import make_demo
from backend.units import size

ORDER = 15


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help=f"make the offline demo pair ({SYNTHETIC_LABEL})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = AppContext()
    ctx.require_saving("make the demo models")
    last = [-1]

    def progress(enc: str, frac: float) -> None:
        pct = int(frac * 100)
        if not args.json and pct // 10 != last[0]:
            last[0] = pct // 10
            print(f"\rmaking {enc.upper()} … {pct:3d}%", end="", file=sys.stderr, flush=True)

    variants = make_demo(ctx.registry, progress)
    if not args.json:
        print("\r", end="", file=sys.stderr)
    for v in variants:
        if args.json:
            emit_json({"model": v.model_name, "encoding": v.encoding, "path": str(v.path),
                       "file_bytes": v.file_bytes, "label": SYNTHETIC_LABEL})
        else:
            print(f"{v.model_name}:{v.encoding.lower():6s} {size(v.file_bytes):>10s}  {v.path}")
    if not args.json:
        print(f"The demo model is synthetic: {SYNTHETIC_LABEL}.\n"
              "Try: tern generate demo --prompt 'Hello'   or   tern generate demo:f16 --prompt 'Hello'")
    return 0
