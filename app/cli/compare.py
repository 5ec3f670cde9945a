"""`tern compare TERNARY [F16] --prompt ...`: one fair side-by-side of a ternary model and its F16 variant.

The two sides run one after the other with the same prompt, seed, sampling, threads and context,
each warmed up first; both replies stream to stdout, then the figures and the ratios. `--race`
runs both at once instead (for watching: not a fair measurement). `--json` prints one JSON
object per event and the run at the end.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from app import __version__
from app.cli.output import emit_json
from app.context import AppContext
from backend import units
from backend.bench.energy import EnergyFigure, PowerLabel
from backend.bench.export import to_json_dict
from backend.bench.history import BenchHistory
from backend.bench.meter import default_meter
from backend.bench.pairing import Pair, resolve_pair
from backend.bench.race import RaceRunner
from backend.bench.report import run_with_ctrl_c
from backend.bench.results import COMPARE, OK, RACE_NOTE, BenchConfig, RunResult, Sample
from backend.bench.runner import RunEvent, Runner
from backend.bench.summary import source_line
from backend.engine.protocol import DEFAULT_PARAMS
from backend.models import SYNTHETIC_LABEL

ORDER = 30


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("compare", help="one fair side-by-side: a ternary model and its F16 variant")
    p.add_argument("ternary", help="the ternary variant: a GGUF file or a local model (`name`, `name:tq2_0`)")
    p.add_argument("f16", nargs="?", help="its F16 variant (default: the same model's, from the library)")
    p.add_argument("--prompt", "-p", required=True, help="the user message, sent to both sides")
    p.add_argument("--max-tokens", "-n", type=int, default=128)
    p.add_argument("--seed", type=int, default=42, help="the same seed for both sides")
    p.add_argument("--temperature", "-t", type=float, default=DEFAULT_PARAMS["temperature"])
    p.add_argument("--ignore-eos", action="store_true", help="always generate --max-tokens tokens")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for each side (default: physical cores)")
    p.add_argument("--ctx", type=int, default=0, help="context length (default: enough for prompt and reply)")
    p.add_argument("--race", action="store_true", help="both sides at once (for watching; not a fair measurement)")
    p.add_argument("--json", action="store_true", help="one JSON object per event, then the whole run")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = AppContext()
    pair = resolve_pair(ctx.registry, args.ternary, args.f16)
    config = BenchConfig(kind=COMPARE, runs=1, tokens=args.max_tokens, prompts=[args.prompt], seed=args.seed,
                         temperature=args.temperature, ignore_eos=args.ignore_eos,
                         threads=args.threads or ctx.settings.threads, n_ctx=args.ctx, stream=True)
    printer = JsonPrinter() if args.json else TextPrinter(pair)
    cls = RaceRunner if args.race else Runner
    meter = default_meter(ctx.settings.sampler_hz, ctx.settings.cpu_watts_per_core)
    runner = cls(pair, config, history=BenchHistory(ctx.store), meter=meter, listener=printer,
                 tern_version=__version__)
    try:
        result = run_with_ctrl_c(runner)
    except KeyboardInterrupt:
        return 130
    finally:
        meter.close()
    printer.finish(result)
    return 0 if any(s.status == OK for s in result.samples) else 1


def side_figures(s: Sample) -> str:
    st = s.stats
    if st is None:
        return f"failed: {s.error}"
    e: EnergyFigure = s.energy
    energy = units.per_token(e.j_per_token) if e.j_per_token is not None else f"— ({e.reason})"
    return (f"{st.output_tokens} tokens · TTFT {units.ms(st.ttft_ms)} · prefill "
            f"{units.tps(st.prefill_tps)} · decode {units.tps(st.decode_tps)} · "
            f"engine peak RAM {units.memory(st.peak_rss)} · power {units.watts(e.avg_watts)} · energy {energy}")


class TextPrinter:
    """Human output: each reply as it streams, its figures, then the ratios."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.lock = threading.Lock()
        self.race = False

    def __call__(self, ev: RunEvent) -> None:
        with self.lock:
            if ev.kind == "started":
                self.race = ev.data.kind == "race"
                if self.race:
                    print(RACE_NOTE, file=sys.stderr)
                if self.pair.synthetic:
                    print(f"[synthetic models: {SYNTHETIC_LABEL}]", file=sys.stderr)
            elif ev.kind in ("phase", "swap"):
                print(f"… {ev.data}", file=sys.stderr)
            elif ev.kind == "reply_start" and not self.race:
                print(f"\n── {self.title(ev.side)} ──", flush=True)
            elif ev.kind == "token" and not self.race:
                sys.stdout.write(ev.data)
                sys.stdout.flush()
            elif ev.kind == "sample":
                if self.race:
                    print(f"\n── {self.title(ev.side)} ──\n{ev.data.text}")
                print(f"\n[{self.pair.sides[ev.side].encoding}] {side_figures(ev.data)}", file=sys.stderr, flush=True)

    def title(self, side: str | None) -> str:
        s = self.pair.sides[side or "ternary"]
        return f"{s.encoding} · {s.model_name} ({s.role})"

    def finish(self, result: RunResult) -> None:
        s = result.summary
        print("\n" + " · ".join(s.get("headline", [])))
        print(f"  {source_line(result)}", file=sys.stderr)
        for note in s.get("notes", []):
            print(f"  {note}", file=sys.stderr)
        print(f"  {result.fingerprint.get('weights_note', '')}", file=sys.stderr)
        power = PowerLabel.from_dict(result.fingerprint.get("power", {}))
        print(f"  power: {power.describe()}", file=sys.stderr)
        if result.id is not None:
            print(f"  stored as run {result.id} (status: {result.status})", file=sys.stderr)


class JsonPrinter:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, ev: RunEvent) -> None:
        if ev.kind in ("started", "finished"):  # the whole run comes last, from finish()
            return
        obj: dict[str, Any] = {"event": ev.kind, "side": ev.side}
        if ev.kind == "token":
            obj["text"] = ev.data
        elif ev.kind in ("phase", "swap"):
            obj["text"] = ev.data
        elif ev.kind == "live":
            obj["figures"] = ev.data
        elif ev.kind == "loaded":
            obj["info"] = ev.data.to_dict()
        elif ev.kind == "sample":
            s: Sample = ev.data
            obj.update({"status": s.status, "error": s.error, "text": s.text,
                        "stats": s.stats.to_dict() if s.stats else None, "energy": s.energy.to_dict()})
        with self.lock:
            emit_json(obj)

    def finish(self, result: RunResult) -> None:
        emit_json({"event": "result", **to_json_dict(result)})
