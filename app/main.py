"""Tern's entry point: parse the command line, set up logging, dispatch to a command."""

from __future__ import annotations

import argparse
import logging
import sys

from backend.errors import TernError

log = logging.getLogger("tern")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (when `command` names a subcommand) one with only that subcommand."""
    from app.cli import register_all

    parser = argparse.ArgumentParser(prog="tern", description="Chat with 1.58-bit (ternary) models, offline.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail (with --version: build details)")
    parser.add_argument("--self-test", action="store_true", help="check this installation end to end and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_all(sub, only=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--engine-worker"]:  # a frozen bundle runs its engine worker as itself
        from backend.engine.worker import main as worker_main

        return worker_main()
    if argv[:1] == ["--quantize-worker"]:  # variant derivation's child process, frozen or not
        from backend.models.quantize_worker import main as quantize_main

        return quantize_main(argv[1:])
    if not argv or argv[0] == "gui":
        return _open_window(argv[1:])
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    args = parser.parse_args(argv)
    if args.version:
        from app.version_info import version_text

        print(version_text(args.verbose))
        return 0

    from app.logs import setup_logging

    setup_logging(args.verbose)
    if args.self_test:
        from app.selftest import run_self_test

        return run_self_test()
    if not args.command:  # only top-level options such as -v: open the window
        return _open_window([])
    from app import context

    context.announce = lambda text: print(f"tern: {text}", file=sys.stderr)  # a damaged store, saving off…
    try:
        return int(args.func(args) or 0)
    except TernError as e:
        log.info("command failed: %s", e)
        print(f"tern: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tern ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0


def _open_window(argv: list[str]) -> int:
    """`tern` / `tern gui`: only the gui command's parser, because building the full one imports every
    subcommand's backend (the Hub client, numpy and gguf: ~0.5 s before the window could show)."""
    from app.cli import gui as gui_command
    from app.logs import setup_logging

    parser = argparse.ArgumentParser(prog="tern")
    gui_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gui", *argv])
    setup_logging(False)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


def gui_main() -> int:
    return main(["gui"])
