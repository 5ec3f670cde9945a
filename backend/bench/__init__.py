"""Ternary vs F16 of the same weights, measured: pairing, fair runs, benchmarks, history, the paper's table.

- `pairing`: find a ternary variant's F16 variant and refuse a mismatched pair, with the reason.
- `engines`: the two engine workers of a pair, kept loaded together only if RAM allows.
- `runner`: fair comparison and benchmark runs (warm-up, interleaving, fresh KV cache per run).
- `race`: both sides at once, for watching (not a fair measurement).
- `stats`, `ratios`: medians with IQR, and the ratios as a person reads them.
- `energy`: what the runner needs from a power source (J/token), "—" with a reason when there is none.
- `fingerprint`, `history`, `export`: what ran where, stored in SQLite, exported to CSV/JSON.
- `paper`: the BitNet b1.58 paper's published ratios beside the ones measured here.
"""
