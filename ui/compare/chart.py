"""The benchmark chart, drawn with QPainter (QtCharts is not part of PySide6-Essentials).

One band per figure (decode, prefill, time to first token, peak RSS, J/token): a bar per side at
its median, a whisker over its IQR, the value, and the ratio on the right. A previous run, when
chosen, shows as a hollow diamond at each of its medians. Missing figures say so in the band.
Exported to PNG at a fixed size, independent of the widget on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from backend import units
from backend.bench.pairing import F16, TERNARY
from backend.bench.ratios import METRICS, Metric, phrase
from backend.bench.results import RunResult
from backend.bench.stats import Summary
from backend.bench.summary import figures

COLORS = {TERNARY: QColor("#0b9aa5"), F16: QColor("#c7772d")}
ORDER = ["decode_tps", "prefill_tps", "ttft_ms", "peak_rss", "j_per_token"]
WORDS = {"decode_tps": ("faster", "slower", ""), "prefill_tps": ("faster", "slower", ""),
         "ttft_ms": ("sooner", "later", "first token"), "peak_rss": ("less", "more", "RAM"),
         "j_per_token": ("less", "more", "energy")}
BAND, TOP, LEFT, RIGHT = 64, 58, 150, 150


@dataclass
class Band:
    metric: Metric
    tq: Summary | None
    f16: Summary | None
    ratio: float | None
    prev: dict[str, float | None]


def scale_value(metric: Metric, v: float) -> float:
    return v / 1024**2 if metric.unit == "bytes" else v


def value_text(metric: Metric, v: float | None) -> str:
    return units.by_unit(metric.unit, v)


class BenchChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BenchChart")
        self.setAccessibleName("Benchmark chart")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.run: RunResult | None = None
        self.previous: RunResult | None = None
        self.bands: list[Band] = []
        self.encodings = {TERNARY: "ternary", F16: "F16"}
        self.setMinimumHeight(self.chart_height())

    def chart_height(self) -> int:
        return TOP + BAND * len(ORDER) + 16

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(720, self.chart_height())

    def set_runs(self, run: RunResult | None, previous: RunResult | None = None) -> None:
        self.run, self.previous = run, previous
        self.bands = []
        if run is not None:
            models = run.fingerprint.get("models", {})
            self.encodings = {s: models.get(s, {}).get("encoding") or s for s in (TERNARY, F16)}
            tq, fp = figures(run.summary, TERNARY), figures(run.summary, F16)
            ptq = figures(previous.summary, TERNARY) if previous else {}
            pfp = figures(previous.summary, F16) if previous else {}
            ratios = run.summary.get("ratios", {})
            key_ratio = {"decode_tps": "decode", "prefill_tps": "prefill", "ttft_ms": "ttft", "peak_rss": "ram",
                         "j_per_token": "energy"}
            for key in ORDER:
                m = next(x for x in METRICS if x.key == key)
                prev = {TERNARY: ptq[key].median if key in ptq else None, F16: pfp[key].median if key in pfp else None}
                self.bands.append(Band(m, tq.get(key), fp.get(key), ratios.get(key_ratio[key]), prev))
        self.update()

    # -- drawing ------------------------------------------------------------------------------
    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        try:
            self.draw(p, QRectF(self.rect()))
        finally:
            p.end()

    def image(self, width: int = 900) -> QImage:
        img = QImage(width, self.chart_height(), QImage.Format.Format_ARGB32)
        img.fill(self.palette().color(QPalette.ColorRole.Base))
        p = QPainter(img)
        try:
            self.draw(p, QRectF(0, 0, width, self.chart_height()))
        finally:
            p.end()
        return img

    def save_png(self, path: str | Path, width: int = 900) -> bool:
        return self.image(width).save(str(path), "PNG")

    def draw(self, p: QPainter, rect: QRectF) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text, muted = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.PlaceholderText)
        p.fillRect(rect, pal.color(QPalette.ColorRole.Base))
        base_font = QFont(self.font())
        if self.run is None:
            p.setPen(muted)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "Run a benchmark to see its chart here.")
            return
        self._legend(p, rect, text, muted)
        plot_w = max(60.0, rect.width() - LEFT - RIGHT)
        for i, band in enumerate(self.bands):
            y = rect.top() + TOP + i * BAND
            self._band(p, band, rect.left(), y, plot_w, text, muted, base_font)

    def _legend(self, p: QPainter, rect: QRectF, text: QColor, muted: QColor) -> None:
        assert self.run is not None
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        p.setPen(text)
        p.drawText(QRectF(rect.left() + 8, rect.top() + 6, rect.width() - 16, 20), Qt.AlignmentFlag.AlignLeft,
                   f"{self.run.label or 'Benchmark'}  ({self.run.status})")
        p.setFont(self.font())
        x = rect.left() + 8
        y = rect.top() + 30
        for side in (TERNARY, F16):
            p.fillRect(QRectF(x, y + 3, 12, 12), COLORS[side])
            p.setPen(text)
            label = self.encodings[side]
            p.drawText(QPointF(x + 16, y + 13), label)
            x += 24 + p.fontMetrics().horizontalAdvance(label)
        note = "bar: median · whisker: IQR"
        if self.previous is not None:
            note += f" · ◇ previous run #{self.previous.id}"
        p.setPen(muted)
        p.drawText(QPointF(x + 8, y + 13), note)

    def _band(self, p: QPainter, band: Band, left: float, y: float, plot_w: float, text: QColor, muted: QColor,
              font: QFont) -> None:
        m = band.metric
        p.setPen(text)
        p.setFont(font)
        better = "higher is better" if m.higher_is_better else "lower is better"
        p.drawText(QRectF(left + 8, y, LEFT - 12, 20), Qt.AlignmentFlag.AlignLeft, m.name)
        p.setPen(muted)
        p.drawText(QRectF(left + 8, y + 18, LEFT - 12, 20), Qt.AlignmentFlag.AlignLeft, better)
        values = [s for s in (band.tq, band.f16) if s is not None and s.median is not None]
        if not values:
            p.drawText(QRectF(left + LEFT, y + 8, plot_w, 20), Qt.AlignmentFlag.AlignLeft,
                       "— not measured" + (" (no power reading)" if m.key == "j_per_token" else ""))
            return
        top = max([s.q3 or s.median or 0.0 for s in values] + [v for v in band.prev.values() if v is not None])
        top = scale_value(m, top) * 1.08 or 1.0
        for row, (side, s) in enumerate(((TERNARY, band.tq), (F16, band.f16))):
            by = y + 4 + row * 24
            if s is None or s.median is None:
                p.setPen(muted)
                p.drawText(QPointF(left + LEFT, by + 14), "—")
                continue
            w = plot_w * scale_value(m, s.median) / top
            p.fillRect(QRectF(left + LEFT, by + 2, max(w, 1.0), 16), COLORS[side])
            if s.q1 is not None and s.q3 is not None and s.q3 > s.q1:
                x1 = left + LEFT + plot_w * scale_value(m, s.q1) / top
                x3 = left + LEFT + plot_w * scale_value(m, s.q3) / top
                p.setPen(QPen(text, 1.5))
                p.drawLine(QPointF(x1, by + 10), QPointF(x3, by + 10))
                p.drawLine(QPointF(x1, by + 5), QPointF(x1, by + 15))
                p.drawLine(QPointF(x3, by + 5), QPointF(x3, by + 15))
            prev = band.prev.get(side)
            if prev is not None:
                px = left + LEFT + plot_w * scale_value(m, prev) / top
                p.setPen(QPen(text, 1.5))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPolygon(QPolygonF([QPointF(px, by + 3), QPointF(px + 6, by + 10), QPointF(px, by + 17),
                                         QPointF(px - 6, by + 10)]))
            p.setPen(text)
            label = value_text(m, s.median)
            whisker_end = plot_w * scale_value(m, s.q3) / top if s.q3 is not None else 0.0
            lx = left + LEFT + max(w, whisker_end) + 6
            if lx + p.fontMetrics().horizontalAdvance(label) > left + LEFT + plot_w:
                lx = left + LEFT + 4
                p.setPen(QColor("white"))
            p.drawText(QPointF(lx, by + 15), label)
        words = WORDS[m.key]
        what = words[2] or m.name
        ratio = phrase(band.ratio, words[0], words[1], what)
        p.setPen(text)
        p.drawText(QRectF(left + LEFT + plot_w + 10, y + 14, RIGHT - 14, 20), Qt.AlignmentFlag.AlignLeft,
                   ratio.replace(f" {what}", "") if ratio else "—")
