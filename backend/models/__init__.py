"""GGUF inspection, preflight checks, synthetic models, variants and the local registry."""

# How every place that shows a synthetic model labels it. Kept here, not in synth.py, so showing
# the label does not import numpy and gguf (~0.3 s before a window or a reply could start).
SYNTHETIC_LABEL = "random weights — for measuring speed, not for conversation"
