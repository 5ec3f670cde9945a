"""The order a benchmark runs in: warm-up first, then measured runs interleaved A B A B.

Interleaving spreads slow drifts of a shared laptop (thermal throttling, a background job) over
both sides instead of charging them to one. When RAM holds only one engine at a time, the
sides run in blocks instead (warm-up A, A A A…, warm-up B, B B B…): swapping engines for every
run would measure model loading, not generation.
"""

from __future__ import annotations

from dataclasses import dataclass

WARMUP, MEASURED = "warmup", "measured"


@dataclass(frozen=True)
class Step:
    kind: str  # WARMUP | MEASURED
    side: str
    iteration: int  # measured run number from 0; -1 for a warm-up
    prompt_index: int


def plan(sides: tuple[str, ...], runs: int, n_prompts: int, interleaved: bool = True) -> list[Step]:
    """Every step of a benchmark, in order. Each run goes through the whole prompt set."""
    if runs < 1 or n_prompts < 1:
        raise ValueError("a benchmark needs at least one run and one prompt")
    if interleaved:
        steps = [Step(WARMUP, side, -1, 0) for side in sides]
        for i in range(runs):
            for p in range(n_prompts):
                steps += [Step(MEASURED, side, i, p) for side in sides]
        return steps
    steps = []
    for side in sides:
        steps.append(Step(WARMUP, side, -1, 0))
        steps += [Step(MEASURED, side, i, p) for i in range(runs) for p in range(n_prompts)]
    return steps
