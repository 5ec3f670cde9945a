"""The comparison panel: a ternary model beside its F16 variant, benchmarks, the paper's table, history.

`ComparePanel` (panel.py) is a standalone widget taking what it needs explicitly (registry,
store, settings, Tern's version); all blocking work runs on `CompareWorker`'s thread. app/gui.py
builds it, adds it to the window and puts its `shutdown` on the window's shutdown list.
"""
