"""What the chat window does to conversations, on the store, without Qt.

Each action that asks for a reply (send, regenerate, edit and resend, continue) stores what the
person did at once — the user message, an empty reply row in status "streaming" — and returns a
`ChatTurn`: where the reply goes and the `TurnSpec` the turn runner (backend.chat.runner) runs.
The runner then writes the reply as it grows and its final status. If Tern dies mid-reply, the
row stays "streaming" and `Store.mark_interrupted()` turns it into "interrupted" at the next start.

Regenerate keeps the earlier reply as another version of the same message (‹ 1/2 ›).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backend.chat.context import DEFAULT_POLICY, normalize
from backend.chat.runner import TurnSpec
from backend.chat.text import clean_text
from backend.store import CANCELLED, COMPLETE, FAILED, INTERRUPTED, STREAMING, Conversation, Message, Store

# The sampling settings a conversation can change, with the defaults a new one starts with
# (the engine's own defaults: backend.engine.protocol.DEFAULT_PARAMS).
CHAT_PARAM_KEYS = ("temperature", "top_p", "top_k", "repeat_penalty", "max_tokens", "seed")
DEFAULT_TITLE = "New chat"
TITLE_CHARS = 48
# Replies whose text goes back to the model as context. A failed reply's partial text is
# shown to the user but not fed back, since it may end mid-sentence for reasons of its own.
_CONTEXT_STATUSES = {COMPLETE, CANCELLED, INTERRUPTED}
# Replies that ended before the model had finished, and can be continued.
CONTINUABLE_STOPS = {"length", "context", "cancelled", "hung"}


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


def can_continue(m: Message) -> bool:
    """A reply that stopped before the model finished it (length, full context, stopped, interrupted)."""
    if m.role != "assistant" or not m.content or m.status in (STREAMING, FAILED):
        return False
    if m.status in (CANCELLED, INTERRUPTED):
        return True
    return str((m.stats or {}).get("stop_reason")) in CONTINUABLE_STOPS


@dataclass
class ChatTurn:
    """A reply about to be generated: where it is stored and what the runner is asked."""

    conversation_id: int
    reply: Message
    spec: TurnSpec
    user: Message | None = None  # None when regenerating or continuing: the user message stays as it was
    removed: list[int] = field(default_factory=list)  # ids of messages this turn deleted
    kind: str = "send"  # send, regenerate, edit, continue

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.spec.messages

    @property
    def params(self) -> dict[str, Any]:
        return self.spec.params


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

    def policy(self, cid: int) -> str:
        return normalize(self.store.conversation(cid).context_policy) if cid else DEFAULT_POLICY

    def set_options(self, cid: int, system_prompt: str | None = None, params: dict[str, Any] | None = None,
                    policy: str | None = None) -> None:
        changes: dict[str, Any] = {}
        if system_prompt is not None:
            changes["system_prompt"] = system_prompt
        if params is not None:
            changes["params"] = {k: v for k, v in params.items() if k in CHAT_PARAM_KEYS}
        if policy is not None:
            changes["context_policy"] = normalize(policy)
        self.store.update_conversation(cid, **changes)

    # -- turns ------------------------------------------------------------------------------
    def begin_turn(self, cid: int, text: str, model: str | None, extra: dict[str, Any] | None = None) -> ChatTurn:
        """Store the user's message and an empty reply; the engine is asked for the reply."""
        text = clean_text(text)
        conv = self.store.conversation(cid)
        if conv.title == DEFAULT_TITLE and not any(m.role == "user" for m in self.store.messages(cid)):
            self.store.update_conversation(cid, title=title_from(text))
        user = self.store.add_message(cid, "user", text)
        return self._reply(cid, model, extra, user=user)

    def begin_regenerate(self, cid: int, model: str | None, extra: dict[str, Any] | None = None) -> ChatTurn:
        """A new version of the last reply; the one shown now is kept as an earlier version."""
        msgs = self.store.messages(cid)
        last_user = next((m for m in reversed(msgs) if m.role == "user"), None)
        if last_user is None:
            raise ValueError("there is no message to reply to")
        after = [m for m in msgs if m.id > last_user.id]
        reply = next((m for m in after if m.role == "assistant"), None)
        removed = [m.id for m in after if reply is None or m.id != reply.id]
        for mid in removed:
            self.store.delete_message(mid)
        if reply is None:
            return self._reply(cid, model, extra, removed=removed, kind="regenerate")
        versions = reply.all_versions()
        if not reply.content:  # an empty reply (failed at once) is not worth keeping as a version
            del versions[max(0, min(reply.version_pos, len(versions) - 1))]
        fresh = {"content": "", "status": STREAMING, "stats": None, "model": model, "created_at": time.time()}
        self.store.set_versions(reply.id, fresh, versions, len(versions))
        spec = TurnSpec(self.engine_messages(cid, before=reply.id), self._params(cid, extra),
                        policy=self.policy(cid), reply_id=reply.id)
        return ChatTurn(cid, self.store.message(reply.id), spec, removed=removed, kind="regenerate")

    def begin_edit(self, cid: int, mid: int, text: str, model: str | None,
                   extra: dict[str, Any] | None = None) -> ChatTurn:
        """Replace user message `mid` with `text`, drop everything after it, and reply anew."""
        text = clean_text(text)
        msgs = self.store.messages(cid)
        target = next((m for m in msgs if m.id == mid), None)
        if target is None or target.role != "user":
            raise ValueError(f"message {mid} is not a user message of conversation {cid}")
        removed = [m.id for m in msgs if m.id >= mid]
        self.store.delete_messages_from(cid, mid)
        if msgs[0].id == mid and self.store.conversation(cid).title == title_from(target.content):
            self.store.update_conversation(cid, title=title_from(text))
        user = self.store.add_message(cid, "user", text)
        return self._reply(cid, model, extra, user=user, removed=removed, kind="edit")

    def begin_continue(self, cid: int, mid: int, model: str | None,
                       extra: dict[str, Any] | None = None) -> ChatTurn:
        """Go on writing reply `mid` where it stopped (the last message, cut off by a limit, a stop or a hang)."""
        msgs = self.store.messages(cid)
        reply = next((m for m in msgs if m.id == mid), None)
        if reply is None or not can_continue(reply) or msgs[-1].id != mid:
            raise ValueError(f"message {mid} is not a cut-off last reply of conversation {cid}")
        self.store.update_message(mid, status=STREAMING)
        spec = TurnSpec(self.engine_messages(cid, before=mid), self._params(cid, extra), policy=self.policy(cid),
                        prefix=reply.content, reply_id=mid)
        return ChatTurn(cid, self.store.message(mid), spec, kind="continue")

    def delete_message(self, cid: int, mid: int) -> Message | None:
        """Delete one message (a user message or a reply); returns it so it can be put back."""
        m = self.store.delete_message(mid)
        if m is not None:
            self.store.touch(cid)
        return m

    def show_version(self, mid: int, index: int) -> Message:
        """Show version `index` (0-based) of a regenerated reply; the others are kept."""
        m = self.store.message(mid)
        versions = m.all_versions()
        if not 0 <= index < len(versions) or m.status == STREAMING:
            return m
        shown = versions[index]
        self.store.set_versions(mid, shown, versions[:index] + versions[index + 1:], index)
        return self.store.message(mid)

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

    def _params(self, cid: int, extra: dict[str, Any] | None) -> dict[str, Any]:
        return {**self.params(cid), **(extra or {})}

    def _reply(self, cid: int, model: str | None, extra: dict[str, Any] | None, user: Message | None = None,
               removed: list[int] | None = None, kind: str = "send") -> ChatTurn:
        messages = self.engine_messages(cid)
        reply = self.store.add_message(cid, "assistant", "", status=STREAMING, model=model)
        spec = TurnSpec(messages, self._params(cid, extra), policy=self.policy(cid), reply_id=reply.id)
        return ChatTurn(cid, reply, spec, user=user, removed=removed or [], kind=kind)
