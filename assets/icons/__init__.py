"""Tern's app icon: tern.svg (the source) and its PNG renders, loaded through importlib.resources."""
