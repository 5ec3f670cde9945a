"""`tern generate --json` carries the reply's energy the way Compare shows it, or null with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from backend.paths import paths


def done_stats(*args: str) -> dict[str, Any]:
    r = subprocess.run([sys.executable, "-m", "app", "generate", *args, "--json"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    done = [json.loads(line) for line in r.stdout.splitlines()][-1]
    assert done["event"] == "done"
    return done["stats"]


def test_energy_is_a_labelled_figure_or_null_with_the_reason(tiny: Path) -> None:
    stats = done_stats(str(tiny), "-p", "Hi", "-n", "8", "--threads", "1")
    assert "energy" in stats and "energy_reason" in stats
    if stats["energy"] is None:  # no power source here (this project's build machines have none)
        assert len(stats["energy_reason"]) > 10
    else:
        assert stats["energy"]["label"]["method"] in ("measured", "estimated")
        assert stats["energy"]["label"]["badge"] and stats["energy"]["units"]["avg_watts"] == "W"


def test_estimated_energy_from_the_settings_cpu_figure(long_tiny: Path) -> None:
    """With a watts-per-core figure in Settings the CPU-time estimate is available anywhere: a figure, labelled
    estimated, from the same meter Compare uses."""
    cfg = paths().ensure().settings_file
    cfg.write_text(json.dumps({"cpu_watts_per_core": 5.0}))
    stats = done_stats(str(long_tiny), "-p", "Hi", "-n", "3000", "--ignore-eos", "--ctx", "4096", "--threads", "1")
    energy = stats["energy"]
    if energy is None:  # a machine fast enough to finish 3000 tokens within two sampler intervals
        assert "too short to measure" in stats["energy_reason"]
        return
    assert energy["status"] == "ok" and energy["j_per_token"] > 0 and energy["avg_watts"] > 0
    assert energy["label"]["method"] == "estimated" and "not a measurement" in energy["label"]["badge"]
    assert energy["units"] == {"j_per_token": "J/token", "joules": "J", "prefill_j": "J", "decode_j": "J",
                               "avg_watts": "W", "baseline_watts": "W"}
    assert energy["baseline_note"]  # says whether idle power was subtracted
