"""The frozen bundle's entry point: `tern` in every mode (window, CLI, --engine-worker, --self-test)."""

import sys

from app.main import main

if __name__ == "__main__":
    sys.exit(main())
