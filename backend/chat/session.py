"""What the chat window does to conversations, on the store, without Qt.

A *turn* is one user message and the reply to it. Starting a turn writes the user message at
once and a reply row in status "streaming"; `ReplyRecorder` then writes the reply as it grows
(about once a second) and its final status. If Tern dies mid-reply, the row stays "streaming"
and `Store.mark_interrupted()` turns it into "interrupted" at the next start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.store import CANCELLED, COMPLETE, FAILED, INTERRUPTED, STREAMING, Conversation, Message, Store

# The sampling settings a conversation can change, with the defaults a new one starts with
# (the engine's own defaults: backend.engine.protocol.DEFAULT_PARAMS).
CHAT_PARAM_KEYS = ("temperature", "top_p", "top_k", "repeat_penalty", "max_tokens", "seed")
DEFAULT_TITLE = "New chat"
TITLE_CHARS = 48
# Replies whose text goes back to the model as context. A failed reply's partial text is
# shown to the user but not fed back, since it may end mid-sentence for reasons of its own.
_CONTEXT_STATUSES = {COMPLETE, CANCELLED, INTERRUPTED}


def default_params() -> dict[str, Any]:
    from backend.engine.protocol import DEFAULT_PARAMS

    return {k: DEFAULT_PARAMS[k] for k in CHAT_PARAM_KEYS}


def title_from(text: str) -> str:
    """A conversation title from its first message: the first line, cut at a word."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    line = line.lstrip("#>-*` ").strip() or DEFAULT_TITLE
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0]
    return (cut if len(cut) > TITLE_CHARS // 2 else line[:TITLE_CHARS]).rstrip(",.;: ") + "…"


@dataclass
class Turn:
    """A reply about to be generated: where it is stored and what the engine is asked."""

    conversation_id: int
    reply: Message
    messages: list[dict[str, str]]
    params: dict[str, Any]
    user: Message | None = None  # None when regenerating: the user message stays as it was
    removed: list[int] = field(default_factory=list)  # ids of messages this turn replaced


class ChatSession:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- conversations ----------------------------------------------------------------------
    def new_conversation(self, model: str | None = None) -> Conversation:
        return self.store.create_conversation(DEFAULT_TITLE, model=model, params=default_params())

    def params(self, cid: int) -> dict[str, Any]:
        """The conversation's sampling settings over the defaults (unknown keys dropped)."""
        stored = self.store.conversation(cid).params
        return {**default_params(), **{k: v for k, v in stored.items() if k in CHAT_PARAM_KEYS}}

    def set_options(self, cid: int, system_prompt: str | None = None,
                    params: dict[str, Any] | None = None) -> None:
        changes: dict[str, Any] = {}
        if system_prompt is not None:
            changes["system_prompt"] = system_prompt
        if params is not None:
            changes["params"] = {k: v for k, v in params.items() if k in CHAT_PARAM_KEYS}
        self.store.update_conversation(cid, **changes)

    # -- turns ------------------------------------------------------------------------------
    def begin_turn(self, cid: int, text: str, model: str | None, extra: dict[str, Any] | None = None) -> Turn:
        """Store the user's message and an empty reply; the engine is asked for the reply."""
        conv = self.store.conversation(cid)
        if conv.title == DEFAULT_TITLE and not any(m.role == "user" for m in self.store.messages(cid)):
            self.store.update_conversation(cid, title=title_from(text))
        user = self.store.add_message(cid, "user", text)
        return self._reply(cid, model, extra, user=user)

    def begin_regenerate(self, cid: int, model: str | None, extra: dict[str, Any] | None = None) -> Turn:
        """Replace the last reply (and anything after the last user message) with a new one."""
        msgs = self.store.messages(cid)
        last_user = next((m for m in reversed(msgs) if m.role == "user"), None)
        if last_user is None:
            raise ValueError("there is no message to reply to")
        removed = [m.id for m in msgs if m.id > last_user.id]
        if removed:
            self.store.delete_messages_from(cid, removed[0])
        return self._reply(cid, model, extra, removed=removed)

    def begin_edit(self, cid: int, mid: int, text: str, model: str | None,
                   extra: dict[str, Any] | None = None) -> Turn:
        """Replace user message `mid` with `text`, drop everything after it, and reply anew."""
        msgs = self.store.messages(cid)
        target = next((m for m in msgs if m.id == mid), None)
        if target is None or target.role != "user":
            raise ValueError(f"message {mid} is not a user message of conversation {cid}")
        removed = [m.id for m in msgs if m.id >= mid]
        self.store.delete_messages_from(cid, mid)
        if msgs[0].id == mid and self.store.conversation(cid).title == title_from(target.content):
            self.store.update_conversation(cid, title=title_from(text))
        user = self.store.add_message(cid, "user", text)
        return self._reply(cid, model, extra, user=user, removed=removed)

    def engine_messages(self, cid: int, before: int | None = None) -> list[dict[str, str]]:
        """The conversation as the engine sees it: the system prompt, then user and reply texts."""
        conv = self.store.conversation(cid)
        out: list[dict[str, str]] = []
        if conv.system_prompt.strip():
            out.append({"role": "system", "content": conv.system_prompt.strip()})
        for m in self.store.messages(cid):
            if before is not None and m.id >= before:
                break
            if m.role == "user" or (m.role == "assistant" and m.status in _CONTEXT_STATUSES and m.content):
                out.append({"role": m.role, "content": m.content})
        return out

    def _reply(self, cid: int, model: str | None, extra: dict[str, Any] | None, user: Message | None = None,
               removed: list[int] | None = None) -> Turn:
        messages = self.engine_messages(cid)
        reply = self.store.add_message(cid, "assistant", "", status=STREAMING, model=model)
        params = {**self.params(cid), **(extra or {})}
        return Turn(cid, reply, messages, params, user=user, removed=removed or [])


class ReplyRecorder:
    """Writes one streaming reply to the store: about once a second while it grows, then at the end.

    Used on the thread that receives the tokens (the store gives each thread its own connection).
    """

    def __init__(self, store: Store, message_id: int, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.message_id = message_id
        self.interval_s = interval_s
        self.clock = clock
        self._parts: list[str] = []
        self._written = 0  # number of parts already on disk
        self._last_write = clock()
        self.writes = 0

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def add(self, piece: str) -> bool:
        """Record a piece of the reply; returns whether this call wrote to disk."""
        self._parts.append(piece)
        if self.clock() - self._last_write >= self.interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        if self._written == len(self._parts):
            self._last_write = self.clock()
            return
        self.store.update_message(self.message_id, content=self.text)
        self._written = len(self._parts)
        self._last_write = self.clock()
        self.writes += 1

    def finish(self, status: str, stats: dict[str, Any] | None = None, tail: str = "") -> str:
        """The final text and status ("complete", "cancelled" or "error")."""
        if tail:
            self._parts.append(tail)
        assert status in (COMPLETE, CANCELLED, FAILED), status
        self.store.update_message(self.message_id, content=self.text, status=status, stats=stats)
        self.store.touch(self.store.message(self.message_id).conversation_id)
        self._written = len(self._parts)
        self.writes += 1
        return self.text
