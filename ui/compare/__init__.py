"""The comparison panel: a ternary model beside its F16 twin, benchmarks, the paper's table, history.

`ComparePanel` (panel.py) is a standalone widget taking what it needs explicitly (registry,
store, settings, Tern's version); all blocking work runs on `CompareWorker`'s thread.
"""
