"""`tern generate MODEL --prompt ...`: stream a reply to stdout, with the turn's figures."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.cli.output import emit_json
from app.context import AppContext
from backend import units
from backend.bench.energy import EnergyFigure
from backend.bench.meter import MetricsMeter, default_meter
from backend.chat.model_engine import ModelEngine
from backend.chat.runner import Delta, Turn, TurnSpec
from backend.chat.text import strict_text
from backend.engine import Done, EngineError, TurnStats
from backend.engine.hardware import logical_cpus
from backend.engine.protocol import DEFAULT_PARAMS
from backend.errors import TernError
from backend.models import SYNTHETIC_LABEL
from backend.models.registry import looks_like_path

ORDER = 20


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("generate", help="generate a reply from a model, streamed to stdout")
    p.add_argument("model", help="a GGUF file, or the name of a local model (`name` or `name:ENCODING`)")
    p.add_argument("--prompt", "-p", required=True, help="the user message")
    p.add_argument("--system", default="", help="a system prompt")
    p.add_argument("--raw", action="store_true", help="send the prompt as is, without the chat template")
    p.add_argument("--json", action="store_true", help="print one JSON object per event, then the stats")
    p.add_argument("--max-tokens", "-n", type=int, default=DEFAULT_PARAMS["max_tokens"])
    p.add_argument("--seed", type=int, default=DEFAULT_PARAMS["seed"], help="-1 for a random seed")
    p.add_argument("--temperature", "-t", type=float, default=DEFAULT_PARAMS["temperature"], help="0 = greedy")
    p.add_argument("--top-p", type=float, default=DEFAULT_PARAMS["top_p"])
    p.add_argument("--top-k", type=int, default=DEFAULT_PARAMS["top_k"])
    p.add_argument("--repeat-penalty", type=float, default=DEFAULT_PARAMS["repeat_penalty"])
    p.add_argument("--ignore-eos", action="store_true", help="always generate --max-tokens tokens")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (default: physical cores; never more than the computer's CPUs)")
    p.add_argument("--ctx", type=int, default=0, help="context length in tokens (default: from settings)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = AppContext()
    out_json = args.json
    try:
        prompt = strict_text(args.prompt, "The prompt (--prompt)")
        system = strict_text(args.system, "The system prompt (--system)")
        # a file path needs no database: a damaged or locked store must not stop `tern generate FILE.gguf`
        path = Path(args.model).expanduser() if looks_like_path(args.model) else ctx.registry.resolve(args.model)
        params = {
            "max_tokens": args.max_tokens, "seed": args.seed, "temperature": args.temperature,
            "top_p": args.top_p, "top_k": args.top_k, "repeat_penalty": args.repeat_penalty,
            "ignore_eos": args.ignore_eos,
        }
        threads = args.threads or ctx.settings.threads or 0
        if threads > logical_cpus():
            print(f"tern: {threads:,} threads asked for; this computer runs {logical_cpus()} at once, "
                  f"so the engine uses {logical_cpus()}.", file=sys.stderr)
        # --json carries the reply's energy as Compare measures it (the same meter); started before the load so
        # the sampler has idle readings from before the reply to subtract
        meter = default_meter(ctx.settings.sampler_hz, ctx.settings.cpu_watts_per_core) if out_json else None
        def calibrating(step: int, _steps: int, _what: str) -> None:  # a model's first load here measures threads
            if step == 0:
                print(f"tern: measuring the best thread count for {path.name} on this computer (once per model, "
                      "a few seconds)…", file=sys.stderr, flush=True)

        model = ModelEngine(path, n_ctx=args.ctx or ctx.settings.n_ctx, n_threads=threads, name="cli",
                            on_calibration=calibrating)
        try:
            with _closing(meter):
                return _generate(model, prompt, system, params, args.raw, out_json, meter)
        finally:
            model.close()
    except EngineError as e:
        return fail(e, out_json, 3 if e.code in ("crashed", "hung") else 1)
    except TernError as e:
        return fail(e, out_json, 1)


def _generate(model: ModelEngine, prompt: str, system: str, params: dict[str, Any], raw: bool,
              out_json: bool, meter: MetricsMeter | None = None) -> int:
    info = model.load()
    if out_json:
        emit_json({"event": "loaded", "info": info.to_dict(), "synthetic_label":
                   SYNTHETIC_LABEL if info.synthetic else None})
    elif info.synthetic:
        print(f"[{model.path.name}: {SYNTHETIC_LABEL}]", file=sys.stderr)
    messages = ([{"role": "system", "content": system}] if system else [])
    messages.append({"role": "user", "content": prompt})
    turn = Turn(TurnSpec(messages, params, prompt=prompt if raw else None))
    tail = ""
    with model.slot() as engine:
        if meter is not None:
            meter.begin(engine.pid or 0)
        events = turn.events(engine)
        try:
            for ev in events:
                if isinstance(ev, Delta) and not ev.tokens:
                    tail = ev.text  # the end of a character the reply stopped inside
                elif isinstance(ev, Delta):
                    if out_json:
                        for t in ev.tokens:
                            emit_json({"event": "token", "text": t.text, "i": t.index, "t_ns": t.t_ns})
                    else:
                        sys.stdout.write(ev.text)
                        sys.stdout.flush()
        except KeyboardInterrupt:
            events.close()  # cancels the reply in the engine
            return 130
    result = turn.result
    assert result is not None
    if result.error is None:
        stats = TurnStats.from_dict(result.stats)
        report(Done(stats, tail), out_json, None if meter is None else meter.end(stats))
        return 0
    if not out_json and result.text:
        sys.stdout.write("\n")  # the partial reply stays on screen; the reason follows on stderr
    err = result.error
    code = 3 if isinstance(err, EngineError) and err.code in ("crashed", "hung") else 1
    return fail(err if isinstance(err, TernError) else TernError(str(err)), out_json, code)


@contextmanager
def _closing(meter: MetricsMeter | None) -> Iterator[None]:
    try:
        yield
    finally:
        if meter is not None:
            meter.close()


# Units of the energy figures, as Compare's JSON names them (EnergyFigure).
ENERGY_UNITS = {"j_per_token": "J/token", "joules": "J", "prefill_j": "J", "decode_j": "J", "avg_watts": "W",
                "baseline_watts": "W"}


def energy_fields(figure: EnergyFigure | None) -> dict[str, Any]:
    """`energy`: the reply's figures with their units and power label (source, what it covers, measured or
    estimated), or None with `energy_reason` saying why there is none."""
    if figure is None:
        return {}
    if figure.j_per_token is None and figure.avg_watts is None:
        label = figure.label or {}
        return {"energy": None, "energy_reason": figure.reason or label.get("reason") or "no power reading"}
    return {"energy": {**figure.to_dict(), "units": ENERGY_UNITS}, "energy_reason": figure.reason or None}


def report(done: Done, out_json: bool, energy: EnergyFigure | None = None) -> None:
    s = done.stats
    if out_json:
        emit_json({"event": "done", "stats": {**s.to_dict(), **energy_fields(energy)}, "tail": done.tail})
        return
    sys.stdout.write(done.tail + "\n")
    print(
        f"— {s.output_tokens} tokens · stop: {s.stop_reason} · time to first token {units.ms(s.ttft_ms)}"
        f" · prefill {units.tps(s.prefill_tps)} · decode {units.tps(s.decode_tps)}"
        f" · engine peak RAM {units.memory(s.peak_rss)} · CPU {s.cpu_s:.2f} s",
        file=sys.stderr,
    )


def fail(e: TernError, out_json: bool, status: int) -> int:
    """Print the error (and as a JSON event with --json); the exit status for it."""
    if out_json:
        emit_json({"event": "error", "code": getattr(e, "code", "error"), "message": str(e)})
    print(f"tern: {e}", file=sys.stderr)
    return status
