"""Measuring the best thread counts for one model on this machine, inside the engine that has it loaded.

Runs in the engine worker (child process) on its `llama_cpp.Llama`. llama.cpp takes two thread counts:
one for a decode step (a batch of one token) and one for batches (prompt processing); both are set on
the live context with `llama_set_n_threads`, so nothing is reloaded. For each candidate count it times
single-token decode steps and, separately, one prompt batch, over two rounds in alternating order
(A B …, … B A), keeping each candidate's best: other processes only ever slow a measurement down.

The choice keeps the default (physical cores) unless another count is faster by more than `MARGIN`,
so a calibrated model is never slower than the default by more than the machine's noise. Every step
is bounded in time (a few seconds in all, even for a 2B model), and `cancelled()` is checked between
steps: a cancelled calibration returns None and leaves the threads and the KV cache as it found them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from backend import units
from backend.engine import hardware

MARGIN = 0.05  # another thread count must beat the default by more than this to be chosen
DECODE_STEP_S = 0.35  # time per decode measurement (after 2 warm-up tokens)
DECODE_MAX_TOKENS = 24
PROMPT_STEP_S = 0.5  # a prompt batch is sized to take about this long
PROMPT_TOKENS = (16, 128)  # smallest and largest prompt batch
LEAD_TOKENS = 8  # context decode steps run after (decode speed depends a little on the context)
ROUNDS = 2


def candidates(logical: int | None = None, physical: int | None = None) -> list[int]:
    """Thread counts worth trying: every count up to 4, then a spread around the physical cores."""
    logical = logical or hardware.logical_cpus()
    physical = min(physical or hardware.physical_cores(), logical)
    if logical <= 4:
        return list(range(1, logical + 1))
    picks = {max(1, physical // 2), max(1, 3 * physical // 4), physical, logical}
    return sorted(picks)


class Calibrator:
    def __init__(self, llm: Any, cancelled: Callable[[], bool], progress: Callable[[int, int, str], None]) -> None:
        import llama_cpp

        self.llm = llm
        self.cancelled = cancelled
        self.progress = progress
        self._set = lambda t, tb: llama_cpp.llama_set_n_threads(llm._ctx.ctx, t, tb)
        rng = random.Random(0)
        self.tokens = [rng.randrange(3, max(4, llm.n_vocab())) for _ in range(PROMPT_TOKENS[1] + LEAD_TOKENS + 64)]

    def _decode_rate(self, threads: int, batch_threads: int) -> float:
        """Single-token decode steps per second at `threads` (after a short context and 2 warm-up steps)."""
        llm = self.llm
        self._set(threads, batch_threads)
        llm.reset()
        llm.eval(self.tokens[:LEAD_TOKENS])
        pos = LEAD_TOKENS
        for _ in range(2):
            llm.eval([self.tokens[pos]])
            pos += 1
        limit = min(DECODE_MAX_TOKENS, llm.n_ctx() - pos - 1)
        n, t0 = 0, time.perf_counter()
        while n < limit and (n < 3 or time.perf_counter() - t0 < DECODE_STEP_S):
            llm.eval([self.tokens[pos]])
            pos += 1
            n += 1
        return n / (time.perf_counter() - t0)

    def _prompt_rate(self, threads: int, batch_threads: int, n: int) -> float:
        llm = self.llm
        self._set(threads, batch_threads)
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(self.tokens[:n])
        return n / (time.perf_counter() - t0)

    def run(self, counts: list[int], default: int, current: tuple[int, int]) -> dict[str, Any] | None:
        """The figures and the choice, or None when cancelled; the threads go back to `current` either way."""
        llm = self.llm
        n_ctx = llm.n_ctx()
        t_start = time.perf_counter()
        total = 2 * ROUNDS * len(counts) + 1
        step = 0
        decode: dict[int, float] = {}
        prompt: dict[int, float] = {}
        try:
            if self.cancelled():
                return None
            self.progress(step, total, "warming up")
            self._prompt_rate(default, default, min(PROMPT_TOKENS[0], n_ctx - 1))  # first batch allocates buffers
            step += 1
            for rnd in range(ROUNDS):
                for t in counts if rnd % 2 == 0 else counts[::-1]:
                    if self.cancelled():
                        return None
                    self.progress(step, total, f"decode with {units.count(t, 'thread')}")
                    decode[t] = max(decode.get(t, 0.0), self._decode_rate(t, default))
                    step += 1
            best_decode = max(decode.values())
            # a prompt batch of about PROMPT_STEP_S: prompts run roughly 5-10× faster than decode
            n_prompt = int(min(PROMPT_TOKENS[1], n_ctx - 1, max(PROMPT_TOKENS[0], best_decode * 6 * PROMPT_STEP_S)))
            for rnd in range(ROUNDS):
                for t in counts if rnd % 2 == 0 else counts[::-1]:
                    if self.cancelled():
                        return None
                    self.progress(step, total, f"prompt with {units.count(t, 'thread')}")
                    prompt[t] = max(prompt.get(t, 0.0), self._prompt_rate(default, t, n_prompt))
                    step += 1
        finally:
            self._set(*current)
            llm.reset()
        self.progress(total, total, "done")
        return {"decode": {str(t): r for t, r in decode.items()}, "prompt": {str(t): r for t, r in prompt.items()},
                "n_threads": pick(decode, default), "n_threads_batch": pick(prompt, default), "default": default,
                "prompt_tokens": n_prompt, "decode_tokens_max": DECODE_MAX_TOKENS, "rounds": ROUNDS,
                "margin": MARGIN, "seconds": time.perf_counter() - t_start}


def pick(rates: dict[int, float], default: int) -> int:
    """The fastest count, unless the default is within MARGIN of it; ties go to fewer threads."""
    best = max(rates, key=lambda t: (rates[t], -t))
    if default in rates and rates[default] >= rates[best] * (1 - MARGIN):
        return default
    return best
