"""One downloadable model file: encoding, name, size, RAM-fit badge, the "runs here" verdict, and its button.

The verdict comes from the file's header, read on the Hub before any download ("checking…"
until it arrives). A file llama.cpp cannot run says so and its Download button is off. The RAM
badge starts as the catalog's estimate (when the catalog has the model's dimensions) and is
replaced by the figure worked out from the header; the tooltip has the numbers and their source.

A source Tern converts — a bitnet.cpp I2_S GGUF, or a `.safetensors` row standing for a repo's
safetensors weights — reads "runs here — converted on this computer (…)" from its config and headers,
its chip says what it becomes ("I2_S → TQ2_0") and its button "Download & convert".
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QWidget

from backend import units
from backend.hub import AuthRequired, FileNotFoundOnHub, HubOffline, Inspection, RepoNotFound
from backend.models.ram_fit import RamFit
from ui import theme
from ui.library import format as fmt
from ui.library.downloads import CONVERTING, PAUSED, VERIFYING, DownloadState
from ui.library.style import chip, glyph, set_glyph, set_kind
from ui.library.widgets import ElidedLabel, button, label, link

HEADER_SOURCE = "the file's GGUF header, read from the Hub (weights = the file's size)"
CONVERT_SOURCE = ("the source's headers, read from the Hub (weights = the converted TQ2_0 file's size, worked out "
                  "tensor by tensor)")
_FIT_KIND = {"fits": "ok", "tight": "warn", "won't fit": "bad"}


@dataclass
class FileInfo:
    repo: str
    filename: str
    encoding: str | None  # from the catalog or the file name; the header has the last word
    size: int | None
    size_text: str = ""
    model_name: str | None = None  # the local name a catalog download is recorded under
    estimate: RamFit | None = None  # the catalog's RAM estimate, if it has the model's dimensions
    estimate_source: str = ""
    estimate_why: str = "RAM needed is unknown until the file's header is read."
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.repo, self.filename)


def check_failure_text(exc: BaseException) -> str:
    """A few words for a row whose header could not be read; the full message goes in the tooltip."""
    msg = str(getattr(exc, "message", "") or exc)
    if isinstance(exc, AuthRequired):
        return (
            "not found on the Hub, or private"
            if "does not exist" in msg
            else "gated or private — needs a Hugging Face token"
        )
    if isinstance(exc, RepoNotFound):
        return "repo not found on the Hub"
    if isinstance(exc, FileNotFoundOnHub):
        return "file not found on the Hub"
    return "couldn't check (hover for why)"


class FileRow(QFrame):
    download_requested = Signal(object)  # FileInfo
    check_requested = Signal(object)  # FileInfo

    def __init__(self, info: FileInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LibFileRow")
        self.info = info
        self.inspection: Inspection | None = None
        self.verdict_kind = ""  # "" unknown, "ok", "bad", "warn", "busy"
        self.missing = ""  # the Hub said it has no such file or repo (a check failed with 404)
        self.local = ""  # "" | "downloaded" | "quarantined"
        self.download: DownloadState | None = None
        self.hub_ok = True
        self.hub_why = ""

        # A grid: the chip, name, size, RAM badge and button on the first line; the verdict under them,
        # across the whole row, so a long verdict (a conversion's figures, a reason) wraps instead of
        # squeezing the name or widening a narrow window.
        row = QGridLayout(self)
        row.setContentsMargins(0, 10, 0, 8)
        row.setHorizontalSpacing(10)
        row.setVerticalSpacing(3)
        mid = Qt.AlignmentFlag.AlignVCenter
        self.enc = chip(
            self, info.encoding or "GGUF", "enc", "Encoding, as the file name says until the header is read"
        )
        row.addWidget(self.enc, 0, 0, mid)
        self.name = ElidedLabel(info.filename, self)
        self.name.setObjectName("LibFileName")
        self.name.setAccessibleName(f"File {info.filename}")
        row.addWidget(self.name, 0, 1, mid)
        row.setColumnStretch(1, 1)
        verdict_row = QHBoxLayout()
        verdict_row.setSpacing(5)
        self.verdict_icon = glyph(self, "info", "faint", 14)
        verdict_row.addWidget(self.verdict_icon, 0, Qt.AlignmentFlag.AlignTop)
        # wraps: a conversion verdict or a reason can be long, and must not widen a narrow window
        self.verdict = label("not checked yet", "LibVerdict", self, wrap=True, selectable=True)
        self.verdict.setAccessibleName(f"Runs here? {info.filename}")
        verdict_row.addWidget(self.verdict, 1)
        self.retry = link(
            "Check again", self, "Read this file's header on the Hub again", f"Check {info.filename} again"
        )
        self.retry.clicked.connect(lambda: self.check_requested.emit(self.info))
        self.retry.hide()
        verdict_row.addWidget(self.retry, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(verdict_row, 1, 1, 1, 4)
        self.size = label(
            units.size(info.size) if info.size else (info.size_text or fmt.DASH), "LibSize", self
        )
        self.size.setToolTip(
            "Download size as the Hub lists it"
            if info.size or info.size_text
            else "The Hub did not list this file's size"
        )
        self.size.setAccessibleName(f"Size of {info.filename}")
        self.size.setMinimumWidth(64)
        self.size.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.size, 0, 2, mid)
        self.ram = chip(self, "", "busy")
        self.ram.setMinimumWidth(104)
        self.ram.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ram.setAccessibleName(f"RAM fit of {info.filename}")
        row.addWidget(self.ram, 0, 3, mid)
        self.action = button(
            "Download",
            self,
            f"Download {info.filename} from {info.repo}",
            primary=True,
            icon="download",
            accessible=f"Download {info.filename}",
        )
        self.action.setFixedWidth(156)
        self.action.clicked.connect(lambda: self.download_requested.emit(self.info))
        row.addWidget(self.action, 0, 4, mid)
        self._show_fit(info.estimate, info.estimate_source)
        self._update_action()

    def reset_check(self) -> None:
        """Forget the verdict (the context length changed): back to the estimate, checked again when seen."""
        self.inspection = None
        self._show_fit(self.info.estimate, self.info.estimate_source)
        self.set_unchecked("not checked yet")

    # -- the verdict --------------------------------------------------------------------------
    @property
    def safetensors(self) -> bool:
        return self.info.filename.lower().endswith(".safetensors")

    def set_checking(self) -> None:
        what = ("Reading config.json and the safetensors headers on the Hub (no weights)" if self.safetensors
                else "Reading the GGUF header on the Hub (a few hundred KB)")
        self._verdict("checking…", "busy", "info", what)

    def set_unchecked(self, text: str, tip: str = "") -> None:
        self.missing = ""
        self._verdict(text, "", "info", tip)

    def set_inspection(self, ins: Inspection) -> None:
        self.inspection = ins
        self.missing = ""
        v = ins.verdict
        what = "config.json and the safetensors headers" if self.safetensors else "the GGUF header"
        tip = f"From {what} ({units.size(ins.bytes_read)} read in {ins.requests} request(s), no weights)."
        if ins.header is not None:
            h = ins.header
            params = f"{h.n_params / 1e9:.2f} B parameters, " if h.n_params else ""
            tip += f"\nArchitecture {h.architecture}, {params}context {h.context_length or fmt.DASH}."
        conv = ins.conversion
        if conv is not None and v.converts:
            from backend.models.convert.plan import KIND_TEXT

            tip += (f"\n{KIND_TEXT.get(conv.kind or '', 'ternary source')}, run by llama.cpp's `{conv.arch}` graph "
                    "once converted.\nConverted on this computer: downloaded, converted tensor by tensor to TQ2_0, "
                    "read back and compared with the source, then added to the library.")
        if v.usable:
            self._verdict(v.text, "ok", "check", tip)
        else:
            self._verdict(
                v.text, "bad", "alert", tip + "\nTern will not download what it cannot run or convert."
            )
        if v.converts:
            src = (conv.kind if conv is not None else "") or ""
            label = {"i2_s": "I2_S", "master-weights": "BF16"}.get(src, "packed" if src.startswith("packed") else src)
            self.enc.setText(f"{label} → TQ2_0" if label else "→ TQ2_0")
            self.enc.setToolTip("What the Hub has, and what Tern converts it to on this computer")
        elif v.encoding and v.encoding != "unknown":
            self.enc.setText(v.encoding)
            self.enc.setToolTip("Encoding of the weights, from the file's header")
        if ins.ram is not None:
            self._show_fit(ins.ram, CONVERT_SOURCE if v.converts else HEADER_SOURCE)

    def set_check_failed(self, exc: BaseException) -> None:
        msg = str(getattr(exc, "message", "") or exc)
        hint = str(getattr(exc, "hint", "") or "")
        tip = f"{msg}\n{hint}".strip()
        gone = isinstance(exc, (FileNotFoundOnHub, RepoNotFound)) or (
            isinstance(exc, AuthRequired) and "does not exist" in msg)
        self.missing = check_failure_text(exc) if gone else ""
        if isinstance(exc, HubOffline):
            self._verdict("not checked — the Hub can't be reached", "", "info", msg)
        else:
            self._verdict(check_failure_text(exc), "warn", "alert", tip)
        self.retry.setVisible(not isinstance(exc, HubOffline))

    def _verdict(self, text: str, kind: str, icon: str, tip: str) -> None:
        self.verdict_kind = kind
        self.verdict.setText(text)
        self.verdict.setToolTip(tip)
        self.verdict.setAccessibleDescription(tip)
        set_kind(self.verdict, kind)
        role = {"ok": "ok", "bad": "danger", "warn": "warn"}.get(kind, "faint")
        set_glyph(self.verdict_icon, icon, role, 14)
        self.retry.hide()
        self._update_action()

    def _show_fit(self, fit: RamFit | None, source: str) -> None:
        self.ram.setText(fmt.fit_text(fit))
        tip = fmt.fit_tooltip(fit, source, self.info.estimate_why)
        self.ram.setToolTip(tip)
        self.ram.setAccessibleDescription(tip)
        set_kind(self.ram, _FIT_KIND.get(fit.verdict, "") if fit else "busy")

    # -- the button -----------------------------------------------------------------------------
    def set_local(self, state: str) -> None:
        self.local = state
        self._update_action()

    def set_download(self, state: DownloadState | None) -> None:
        self.download = state
        self._update_action()

    def set_hub(self, ok: bool, why: str = "") -> None:
        self.hub_ok, self.hub_why = ok, why
        self._update_action()

    def _update_action(self) -> None:
        b, s = self.action, self.download
        converts = self.inspection is not None and self.inspection.verdict.converts
        enabled, text, tip, primary = (
            True,
            "Download && convert" if converts else "Download",  # (&& shows one &: a single one marks a shortcut)
            (f"Download {self.info.repo}'s weights and convert them to TQ2_0 on this computer" if converts
             else f"Download {self.info.filename} from {self.info.repo}"),
            True,
        )
        if s is not None and s.active:
            pct = f" {s.done_bytes / s.total_bytes:.0%}" if s.total_bytes else ""
            text = ("Converting…" if s.status == CONVERTING else "Verifying…" if s.status == VERIFYING
                    else f"Downloading{pct}")
            enabled, tip = False, "See the download at the top of the page (pause or cancel it there)"
        elif s is not None and not s.resumable:
            text, tip = "Download again", f"The last copy {s.message}. This fetches the whole file again."
        elif s is not None:
            text = "Resume" if s.status == PAUSED else "Try again"
            tip = f"{s.message}. Resume from {units.size(s.done_bytes)}" if s.done_bytes else s.message
        elif self.local == "downloaded":
            text, enabled, primary = "On this computer", False, False
            tip = "Already downloaded: see “On this computer”"
        elif self.local == "quarantined":
            text, tip = "Download again", "The earlier copy failed its sha256 check and is quarantined"
        if enabled and self.verdict_kind == "bad":
            enabled, tip = False, f"Not downloadable here: {self.verdict.text()}"
        if enabled and self.missing:
            enabled, tip = False, f"Nothing to download: {self.missing} (Check again to ask the Hub once more)"
        if enabled and not self.hub_ok:
            enabled, tip = False, self.hub_why or "The Hub can't be reached"
        b.setText(text)
        b.setFixedWidth(184 if converts else 156)
        b.setEnabled(enabled)
        icon = "check" if self.local == "downloaded" and s is None else "download"
        theme.set_icon(b, icon, "accent_text" if primary and enabled else "muted", 16)
        b.setToolTip(tip)
        b.setAccessibleDescription(tip)
        set_kind(b, "primary" if primary and enabled else "", "variant")
