"""`tern gui` (and plain `tern`): open the window."""

from __future__ import annotations

import argparse

ORDER = 10


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gui", help="open the Tern window (the default)")
    p.add_argument("--screenshot", metavar="PNG", help="save the window to PNG once shown, then quit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import sys

    from app.qt_check import platform_plugin_problem

    problem = platform_plugin_problem()  # a missing X11 library: say which, rather than let Qt abort
    if problem:
        logging.getLogger("tern").error("%s", problem)
        print(f"tern: {problem}", file=sys.stderr)
        return 1
    from app.gui import run_gui

    return run_gui(screenshot=args.screenshot)
