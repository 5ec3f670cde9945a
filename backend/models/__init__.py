"""GGUF inspection, preflight checks, synthetic models, variants and the local registry."""
