"""What to send when a conversation no longer fits the model's context: a policy per conversation.

- "truncate_middle" (the default, as LM Studio does): keep the system prompt and the first
  exchange, which usually say what the conversation is about, and leave out the oldest messages
  after them until the prompt fits with room for a reply.
- "rolling": keep the system prompt and leave out the oldest messages.
- "stop": send nothing that does not fit; the turn ends with "context full" and says so.

Messages are left out by whole exchanges (a user message and the replies to it), so the roles
still alternate as chat templates require. Token counts come from the engine (the model's own
tokenizer and chat template), so a fitted prompt really fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backend.errors import TernError

MIN_CTX, MAX_CTX = 256, 131072  # the context lengths Tern loads a model with (Settings, load options, the server)

TRUNCATE_MIDDLE, ROLLING, STOP = "truncate_middle", "rolling", "stop"
DEFAULT_POLICY = TRUNCATE_MIDDLE
POLICIES: dict[str, str] = {
    TRUNCATE_MIDDLE: "Leave out the middle",
    ROLLING: "Leave out the oldest",
    STOP: "Stop and say so",
}
POLICY_TIPS: dict[str, str] = {
    TRUNCATE_MIDDLE: "Keep the system prompt and the first exchange, and leave out the oldest messages after "
                     "them until the conversation fits the model's context.",
    ROLLING: "Keep the system prompt and leave out the oldest messages until the conversation fits.",
    STOP: "Send nothing that does not fit: when the context is full, the reply is not written and Tern says so.",
}
MIN_REPLY = 16  # tokens a reply needs at the very least to be worth starting


class ContextFull(TernError):
    code = "context_full"

    def __init__(self, message: str, hint: str, n: int, n_ctx: int) -> None:
        super().__init__(message, hint)
        self.n = n
        self.n_ctx = n_ctx


@dataclass
class Fitted:
    messages: list[dict[str, Any]]
    prompt_tokens: int
    n_ctx: int
    policy: str
    dropped: int = 0  # messages left out

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "dropped": self.dropped, "prompt_tokens": self.prompt_tokens,
                "n_ctx": self.n_ctx}


def normalize(policy: object) -> str:
    return policy if isinstance(policy, str) and policy in POLICIES else DEFAULT_POLICY


def reply_room(n_ctx: int, max_tokens: int) -> int:
    """Tokens kept free for the reply when older messages are left out."""
    return max(MIN_REPLY, min(int(max_tokens), n_ctx // 4))


def fit(messages: list[dict[str, Any]], policy: str, count: Callable[[list[dict[str, Any]]], int],
        n_ctx: int, max_tokens: int) -> Fitted:
    """The messages to send under `policy`; raises ContextFull when even the last message cannot fit."""
    policy = normalize(policy)
    n = count(messages)
    if policy == STOP:
        if n + MIN_REPLY > n_ctx:
            raise ContextFull(
                f"The conversation is {n:,} tokens long and the model's context holds {n_ctx:,}: context full.",
                "Start a new conversation, delete some messages, or let Tern leave out older messages "
                "(Conversation settings → When the context is full).", n, n_ctx)
        return Fitted(messages, n, n_ctx, policy)
    room = reply_room(n_ctx, max_tokens)
    if n + room <= n_ctx:
        return Fitted(messages, n, n_ctx, policy)
    head, groups = _exchanges(messages)
    if policy == TRUNCATE_MIDDLE and len(groups) > 2:
        order = [*range(1, len(groups) - 1), 0]  # the middle, oldest first; the first exchange last of all
    else:
        order = list(range(len(groups) - 1))

    def without(k: int) -> list[dict[str, Any]]:
        gone = set(order[:k])
        return head + [m for i, g in enumerate(groups) if i not in gone for m in g]

    lo, hi, best = 1, len(order), None
    counts: dict[int, int] = {}
    while lo <= hi:  # the fewest exchanges to leave out: counts only shrink as more are left out
        mid = (lo + hi) // 2
        counts[mid] = count(without(mid))
        if counts[mid] + room <= n_ctx:
            best, hi = mid, mid - 1
        else:
            lo = mid + 1
    if best is None:  # even the last message alone leaves less room than wanted: accept any room at all
        k = len(order)
        last = counts.get(k) if k in counts else count(without(k))
        if last + MIN_REPLY > n_ctx:
            with_system = " with the system prompt" if head else ""
            raise ContextFull(
                f"Your message is too long for the model's context: {last:,} tokens{with_system}, "
                f"and the context holds {n_ctx:,}.",
                "Shorten the message, or load the model with a longer context (the model picker's load options).",
                last, n_ctx)
        best, counts[k] = k, last
    kept = without(best)
    return Fitted(kept, counts[best], n_ctx, policy, dropped=len(messages) - len(kept))


def _exchanges(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """(leading system messages, exchanges): each exchange starts at a user message."""
    i = 0
    while i < len(messages) and messages[i].get("role") == "system":
        i += 1
    head, groups = messages[:i], []
    for m in messages[i:]:
        if m.get("role") == "user" or not groups:
            groups.append([m])
        else:
            groups[-1].append(m)
    return head, groups
