"""PySide6 widgets and view-models. Never imports llama_cpp; talks to backend through app wiring."""
