"""Data files (catalog, icons, styles, power table, reference figures), read with importlib.resources."""
