"""Crash hooks: uncaught exceptions (any thread) and Qt's own messages go to the log, and the user
sees a message through the bridge instead of a silent failure or a console traceback."""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

from ui.messages import MessageBridge, describe

log = logging.getLogger("tern.crash")
qt_log = logging.getLogger("tern.qt")
_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    where = f" ({context.file}:{context.line})" if context.file else ""
    qt_log.log(_LEVELS.get(kind, logging.WARNING), "%s%s", message, where)


class CrashHooks:
    """Install with `install()`, undo with `uninstall()` (tests)."""

    def __init__(self, bridge: MessageBridge) -> None:
        self.bridge = bridge
        self._old: tuple[Any, Any, Any] | None = None

    def install(self) -> CrashHooks:
        old_qt = qInstallMessageHandler(qt_message_handler)
        self._old = (sys.excepthook, threading.excepthook, old_qt)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook
        return self

    def uninstall(self) -> None:
        if self._old is None:
            return
        sys.excepthook, threading.excepthook, old_qt = self._old
        qInstallMessageHandler(old_qt)
        self._old = None

    def _report(self, exc: BaseException, where: str) -> None:
        text, hint = describe(exc, where)
        try:
            self.bridge.error(text, hint, key="crash")  # queued to the GUI thread if need be
        except RuntimeError:  # the bridge is gone (shutting down)
            pass

    def _excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, exc, tb)
            return
        log.error("uncaught exception", exc_info=(kind, exc, tb))
        self._report(exc, "handling your last action")

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        log.error("uncaught exception in thread %s", name,
                  exc_info=(args.exc_type, args.exc_value, args.exc_traceback))  # type: ignore[arg-type]
        if args.exc_value is not None:
            self._report(args.exc_value, f"working in the background ({name})")
