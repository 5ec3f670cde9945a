"""Published reference figures, as data (read with importlib.resources, so a frozen bundle finds them)."""
