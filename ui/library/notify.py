"""What the library tells a person when something finishes or fails — through the window's message bridge.

Each notice names the model or file and offers the next step as a button (chat with it, make
its F16 variant, resume, add a token, try again). Errors are described by `ui.messages.describe`:
never a traceback.
"""

from __future__ import annotations

from typing import Any

from backend import units
from backend.hub import (
    AuthRequired,
    ChecksumMismatch,
    DownloadInterrupted,
    HubError,
    NotRunnable,
    RateLimited,
)
from backend.hub.errors import HubServerError
from backend.models.derive import DeriveCancelled
from ui.library import format as fmt


def _twin_action(page: Any, model: str) -> list[tuple[str, Any]]:
    """ "Make F16 variant" when the model has a ternary variant and no F16 one yet."""
    m = page.registry.find(model)
    if m is None:
        return []
    usable = {v.encoding.upper() for v in m.variants if v.usable}
    if usable & {"TQ1_0", "TQ2_0"} and "F16" not in usable:
        return [("Make F16 variant", lambda: page.derive(m.name, "f16"))]
    return []


def downloaded(page: Any, result: Any) -> None:
    v = result.variant
    spec = f"{v.model_name}:{v.encoding}"
    if getattr(result, "converted", False):
        conv = v.info.get("converted", {})
        kept = ("the downloaded source is kept in the Hugging Face cache" if conv.get("source_kept")
                else "the downloaded source was removed")
        message = (f"Converted {spec} on this computer from {conv.get('source')} ({units.size(v.file_bytes)}, "
                   f"read back and checked against the source; {kept}).")
    else:
        check = "sha256 verified" if v.verified else fmt.NOT_VERIFIED
        resumed = sum(f.resumed_from for f in result.files)
        note = f", resumed from {units.size(resumed)}" if resumed else ""
        message = f"Downloaded {spec} ({units.size(v.file_bytes)}, {check}{note})."
    page.bridge.info(
        message,
        "It is in the chat's model list now.",
        actions=[("Chat with it", lambda: page.chat_with(spec)), *_twin_action(page, v.model_name)],
        key=f"download-{v.model_name}",
    )


def download_failed(page: Any, key: tuple[str, str], exc: BaseException) -> None:
    repo, filename = key
    state = page.downloads.state(repo, filename)
    name = state.model_name if state else None

    def again() -> None:
        page.downloads.start(repo, filename, name)

    actions: list[tuple[str, Any]] = []
    if isinstance(exc, AuthRequired):
        actions = [("Open Settings", page.open_settings), ("Try again", again)]
    elif isinstance(exc, DownloadInterrupted):
        actions = [("Resume", again)]
    elif isinstance(exc, ChecksumMismatch):
        actions = [("Download again", again)]
    elif isinstance(exc, (RateLimited, HubServerError)) or (
        isinstance(exc, HubError) and not isinstance(exc, NotRunnable)
    ):
        actions = [("Try again", again)]
    page.bridge.exception(exc, f"downloading {filename}", actions, key=f"download-{repo}/{filename}")


def discarded(page: Any, key: tuple[str, str], freed: int) -> None:
    page.bridge.info(
        f"Cancelled the download of {key[1]}; what it had downloaded is deleted ({units.size(freed)} freed).",
        timeout_ms=8000,
        key=f"download-{key[0]}/{key[1]}",
    )


def hub_off(page: Any) -> None:
    offline = page.settings.offline
    page.bridge.warning(
        "Downloads need the Hugging Face Hub, and "
        + ("offline mode is on." if offline else "it can't be reached."),
        "Models on this computer keep working."
        + (" Turn offline mode off in Settings." if offline else " Check the network and try again."),
        actions=[("Open Settings", page.open_settings)] if offline else [],
        key="hub-off",
    )


def derived(page: Any, variant: Any) -> None:
    spec = f"{variant.model_name}:{variant.encoding}"
    page.bridge.dismiss(f"download-{variant.model_name}")  # its "Make F16 variant" is done
    actions: list[tuple[str, Any]] = [("Chat with it", lambda: page.chat_with(spec))]
    actions.append(("Compare", lambda: page.compare(variant.model_name)))
    page.bridge.info(
        f"Made {spec} ({units.size(variant.file_bytes)}) from the same weights.",
        "Both variants are in the chat's model list and on the Compare page.",
        actions=actions,
        key=f"derive-{variant.model_name}",
    )


def derive_failed(page: Any, model: str, exc: BaseException) -> None:
    if isinstance(exc, DeriveCancelled):
        page.bridge.info(
            f"Stopped making the new variant of {model}; nothing was kept.",
            timeout_ms=8000,
            key=f"derive-{model}",
        )
        return
    page.bridge.exception(exc, f"making a variant of {model}", key=f"derive-{model}")


def imported(page: Any, path: str, variant: Any) -> None:
    spec = f"{variant.model_name}:{variant.encoding}"
    where = "copied into Tern's folder" if variant.info.get("copied") else "Tern uses the file where it is"
    page.bridge.dismiss(f"import-{path}")
    page.bridge.info(
        f"Added {spec} ({units.size(variant.file_bytes)}) — {variant.info.get('verdict', 'checked')}.",
        f"{where.capitalize()}; it is in the chat's model list now.",
        actions=[("Chat with it", lambda: page.chat_with(spec)), *_twin_action(page, variant.model_name)],
        key=f"imported-{spec}",
    )


def removed(page: Any, spec: str, result: Any) -> None:
    kept = f" Your own file stays where it is: {', '.join(result.kept)}." if result.kept else ""
    page.bridge.info(
        f"Removed {spec}: {units.size(result.freed_bytes)} freed.{kept}",
        timeout_ms=10000,
        key=f"remove-{spec}",
    )
