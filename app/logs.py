"""Logging to a rotating file in the user log dir, one named logger per subsystem."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import threading

from backend.paths import paths

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file; if the disk fills up or turns read-only, logging stops quietly instead of printing a
    traceback for every line (logging's default)."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if isinstance(sys.exc_info()[1], OSError):
            self.emit = lambda _record: None  # type: ignore[method-assign]
            return
        super().handleError(record)


def setup_logging(verbose: bool = False) -> None:
    root = logging.getLogger()
    if getattr(root, "_tern_configured", False):
        return
    logdir = paths().logs
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = _LogFile(logdir / "tern.log", maxBytes=2_000_000, backupCount=3,
                                            encoding="utf-8")
    except OSError:  # a read-only or full disk must not stop Tern: it runs without a log file
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if verbose:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(console)
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    root._tern_configured = True  # type: ignore[attr-defined]

    def log_thread_exception(args: threading.ExceptHookArgs) -> None:
        logging.getLogger("tern.crash").error(
            "uncaught exception in thread %s", args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
        )

    threading.excepthook = log_thread_exception
