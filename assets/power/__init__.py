"""Data for power estimates (importable so importlib.resources finds it in a frozen bundle too)."""
