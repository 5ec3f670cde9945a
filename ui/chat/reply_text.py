"""What a reply's footer and status line say: its figures, why it ended, and what happened to it.

"token limit reached" (the reply's own Max tokens) and "context full" (the model's context length)
are different limits with different remedies, and say so.
"""

from __future__ import annotations

from typing import Any

from backend import units
from backend.store import CANCELLED, FAILED, INTERRUPTED, STREAMING

# Why a reply ended, as its footer says it.
STOP_WORDS = {"eos": "finished", "length": "token limit reached", "context": "context full",
              "cancelled": "stopped by you", "hung": "engine stopped responding", "error": "failed",
              "context_full": "context full", "stop": "stop sequence reached"}


def figures_text(stats: dict[str, Any] | None) -> tuple[str, str]:
    """(footer line, tooltip) for a reply's TurnStats, with "—" for what was not measured."""
    if not stats or "output_tokens" not in stats or stats.get("stop_reason") == "error":
        return "", ""
    tps = stats.get("decode_tps")
    parts = [
        f"TTFT {units.ms(stats.get('ttft_ms'))}",
        units.tps(tps) if tps else f"{units.DASH} tok/s",
        units.count(int(stats.get("output_tokens") or 0), "token"),
        STOP_WORDS.get(str(stats.get("stop_reason")), str(stats.get("stop_reason", ""))),
    ]
    ctx = stats.get("context") or {}
    if ctx.get("dropped"):
        parts.append(f"{units.count(int(ctx['dropped']), 'earlier message')} left out")
    tip = ["Measured by the engine for this reply:",
           f"• time to first token: {units.ms(stats.get('ttft_ms'))} (request received → first token, "
           f"including the prompt: {stats.get('prompt_tokens', '—')} tokens, "
           f"{stats.get('prompt_cached', 0)} reused from the cache)"]
    if tps:
        tip.append(f"• decode: {tps:,.1f} tokens/s (tokens after the first ÷ time from first to last token)")
    else:
        tip.append("• decode: — (needs at least two tokens)")
    if stats.get("prefill_tps"):
        tip.append(f"• prompt evaluation: {stats['prefill_tps']:,.0f} tokens/s")
    if stats.get("total_ms") is not None:
        tip.append(f"• total: {units.ms(stats.get('total_ms'))}")
    if ctx.get("n_ctx"):
        tip.append(f"• context: {ctx.get('prompt_tokens', 0):,} of {ctx['n_ctx']:,} tokens held the conversation")
    if ctx.get("dropped"):
        kept = _POLICY_WORDS.get(str(ctx.get("policy")), "")
        left_out = "was" if int(ctx["dropped"]) == 1 else "were"
        tip.append(f"  {units.count(int(ctx['dropped']), 'earlier message')} {left_out} left out so it fits ({kept})")
    if stats.get("continued"):
        tip.append("• these figures are for the last part (the reply was continued)")
    return "  ·  ".join(parts), "\n".join(tip)


_POLICY_WORDS = {"truncate_middle": "the system prompt and the first exchange were kept",
                 "rolling": "the oldest messages went first"}


def badge_for(status: str, stats: dict[str, Any] | None) -> tuple[str, str] | None:
    """(kind, text) of the line under a reply that did not simply finish, or None."""
    s = stats or {}
    if status == STREAMING:
        return "streaming", "Generating…  (Esc stops)"
    if status == CANCELLED:
        return "cancelled", "Stopped — the reply ends where you stopped it. Continue goes on from here."
    if status == INTERRUPTED and s.get("stop_reason") == "hung":
        return "interrupted", ("Interrupted — the engine stopped responding and Tern ended it; the text above is "
                               "what arrived before. Continue goes on from here with a fresh engine.")
    if status == INTERRUPTED:
        return "interrupted", ("Interrupted — Tern closed before this reply finished; the text above is what had "
                               "been saved.")
    if status == FAILED and s.get("stop_reason") == "context_full":
        return "error", "Not written — context full: the conversation does not fit the model's context."
    if status == FAILED:
        return "error", ("Not finished — the engine failed while writing this reply; the text above is what "
                         "arrived before it stopped.")
    if s.get("stop_reason") == "context":
        return "limit", "Context full — the reply stopped where the model's context ran out."
    return None
