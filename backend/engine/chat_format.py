"""Turn a list of chat messages into the prompt text a model expects.

Uses the chat template stored in the GGUF (rendered by llama-cpp-python's Jinja2 formatter, as
Hugging Face's transformers would) and falls back to a plain transcript when there is none or it
fails to render.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("tern.engine")

ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


def plain_prompt(messages: list[dict[str, Any]]) -> str:
    lines = [f"{ROLE_NAMES.get(m['role'], m['role'].title())}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nAssistant:"


class ChatFormatter:
    def __init__(self, template: str | None, bos_token: str, eos_token: str) -> None:
        self.template = template
        self.bos_token = bos_token
        self._jinja = None
        if template:
            try:
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                self._jinja = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
            except Exception as e:  # a template jinja cannot parse: fall back, and say so in the log
                log.warning("chat template does not parse (%s); using the plain format", e)

    @property
    def uses_template(self) -> bool:
        return self._jinja is not None

    def format(self, messages: list[dict[str, Any]]) -> tuple[str, bool]:
        """(prompt, starts_with_bos): whether the rendered text already holds the BOS token."""
        if self._jinja is not None:
            try:
                prompt = self._jinja(messages=messages).prompt
                return prompt, bool(self.bos_token) and prompt.startswith(self.bos_token)
            except Exception as e:
                log.warning("chat template failed to render (%s); using the plain format", e)
        return plain_prompt(messages), False
