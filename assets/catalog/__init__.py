"""The curated catalog of 1.58-bit models, as data (read with importlib.resources by backend.hub.catalog)."""
