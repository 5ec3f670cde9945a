"""Actions on single messages — continue a cut-off reply, delete with Undo, flip between a reply's
versions — and the composer's context meter, for the chat page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from backend.chat.context import MIN_REPLY, STOP
from backend.store import Message
from ui.chat.store_action import store_action

if TYPE_CHECKING:
    from ui.chat.page import ChatPage

UNDO_MS = 10_000


class MessageActions:
    def __init__(self, page: ChatPage) -> None:
        self.page = page
        self.bridge = page.bridge
        self._context: tuple[int, int, int] | None = None  # (conversation, tokens, context length) last counted
        self._policy: tuple[int, str] | None = None  # (conversation, its context policy) as last read
        page.view.continue_requested.connect(self.continue_reply)
        page.view.delete_requested.connect(self.delete_message)
        page.view.version_requested.connect(self.show_version)
        page.controller.context_changed.connect(self._context_changed)

    # -- the context meter -------------------------------------------------------------------
    def _context_changed(self, cid: int, used: int, n_ctx: int) -> None:
        self._context = (cid, used, n_ctx)
        self._show()  # every token batch while a reply streams: no database read here

    def show_context(self) -> None:
        """The conversation on screen, or its settings, changed: read its context policy, then show the meter."""
        cid = self.page.cid
        self._policy = (cid, self.page.controller.session.policy(cid)) if cid else None
        self._show()

    def _show(self) -> None:
        ctx, cid = self._context, self.page.cid
        if ctx is None or ctx[0] != cid or not cid or self.page.controller.info is None:
            self.page.composer.set_context(None, None)
            return
        if self._policy is None or self._policy[0] != cid:
            self._policy = (cid, self.page.controller.session.policy(cid))
        self.page.composer.set_context(ctx[1], ctx[2], self._policy[1])

    def context_full(self) -> bool:
        """Whether this conversation fills the context under the "stop" policy (nothing more can be sent)."""
        ctx, cid = self._context, self.page.cid
        return bool(ctx and cid and ctx[0] == cid and self.page.controller.session.policy(cid) == STOP
                    and ctx[1] + MIN_REPLY > ctx[2])

    # -- single messages -------------------------------------------------------------------
    @store_action("continuing the reply")
    def continue_reply(self, mid: int) -> None:
        if self.page.cid:
            self.page.options.flush()
            self.page.controller.continue_reply(self.page.cid, mid, self.page.extra_params)

    @store_action("deleting the message")
    def delete_message(self, mid: int) -> None:
        if not self.page.cid or self.page.controller.busy:
            return
        gone = self.page.controller.session.delete_message(self.page.cid, mid)
        if gone is None:
            return
        self.page.view.remove([mid])
        self.page.controller.count_context(self.page.cid)
        what = "your message" if gone.role == "user" else "a reply"
        self.bridge.info(f"Deleted {what}.", actions=[("Undo", lambda: self.undo_delete_message(gone))],
                         key=f"deleted-message-{mid}", timeout_ms=UNDO_MS)

    @store_action("restoring the message")
    def undo_delete_message(self, message: Message) -> None:
        restored = self.page.store.restore_message(message)
        if restored.conversation_id == self.page.cid:
            self.page.view.insert(restored)
            self.page.controller.count_context(self.page.cid)

    @store_action("showing another version of the reply")
    def show_version(self, mid: int, index: int) -> None:
        if self.page.controller.busy:
            return
        self.page.view.update_message(self.page.controller.session.show_version(mid, index))
        self.page.controller.count_context(self.page.cid)
