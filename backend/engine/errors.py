"""What can go wrong with an engine process, said so a person can act on it."""

from __future__ import annotations

import re
import signal

from backend.errors import TernError


class EngineError(TernError):
    def __init__(self, message: str, code: str = "engine_error", hint: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class EngineCrashed(EngineError):
    """The engine process is gone (it died, or Tern ended it); the next request starts a fresh one."""

    def __init__(self, exit_status: int | None, stderr_tail: list[str], during: str,
                 message: str | None = None, code: str = "crashed",
                 hint: str = "Your conversation is safe. Reload the model to continue.") -> None:
        self.exit_status = exit_status
        self.stderr_tail = stderr_tail
        self.during = during
        if message is None:
            last = _last_words(stderr_tail)
            detail = f" Its last words: {last.strip()}" if last else ""
            message = f"The engine stopped unexpectedly while {during} ({describe_exit(exit_status)}).{detail}"
        super().__init__(message, code=code, hint=hint)


class EngineHung(EngineCrashed):
    """The engine sent nothing and used no CPU for the hang bound: Tern ended it."""

    def __init__(self, pid: int, quiet_s: float, during: str, state: str, stderr_tail: list[str]) -> None:
        why = " (its process was stopped, as by a debugger or `kill -STOP`)" if state == "stopped" else ""
        super().__init__(
            -signal.SIGKILL, stderr_tail, during,
            message=(f"The engine stopped responding while {during}: nothing arrived for {quiet_s:.0f} s and its "
                     f"process (pid {pid}) used no CPU{why}. Tern ended it."),
            code="hung",
            hint="The text that arrived before is kept; the next message starts a fresh engine.",
        )
        self.pid = pid
        self.state = state


def _last_words(lines: list[str]) -> str:
    """The most telling stderr line: an assertion or error if there is one, else the last line."""
    for line in reversed(lines):
        if any(k in line for k in ("GGML_ASSERT", "GGML_ABORT", "error", "Error", "fatal", "abort")):
            return re.sub(r"\S*[/\\](\S+\.(?:c|cc|cpp|h):\d+)", r"\1", line)
    return next((s for s in reversed(lines) if s.strip()), "")


def describe_exit(status: int | None) -> str:
    if status is None:
        return "exit status unknown"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        extra = " — llama.cpp aborted" if name == "SIGABRT" else ""
        return f"killed by {name}{extra}"
    return f"exit status {status}"
