"""A small line chart of the last minute of one figure, drawn with QPainter.

QtCharts is not in PySide6-Essentials; a sparkline needs only a polyline, a soft fill, the
latest value and the range it spans. With no data it says why instead of drawing a flat zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui import theme


class Sparkline(QWidget):
    def __init__(
        self,
        title: str,
        fmt: Callable[[float | None], str],
        span_s: float = 60.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title, self.fmt, self.span_s = title, fmt, span_s
        self.points: list[tuple[float, float]] = []  # (seconds before now, value)
        self.empty_text = "no data yet"
        self.setMinimumSize(QSize(180, 64))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(f"{title} over the last minute")

    def sizeHint(self) -> QSize:
        return QSize(240, 72)

    def set_series(
        self, series: Sequence[tuple[int, float]], now_ns: int, empty_text: str = "no data yet"
    ) -> None:
        span_ns = self.span_s * 1e9
        self.points = [((now_ns - t) / 1e9, v) for t, v in series if 0 <= now_ns - t <= span_ns]
        self.empty_text = empty_text
        latest = self.fmt(self.points[-1][1]) if self.points else "—"
        self.setToolTip(f"{self.title}, last {self.span_s:.0f} s — latest {latest}")
        self.update()

    def paintEvent(self, _event: object) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(QColor(t.border), 1))
        p.setBrush(QColor(t.panel))
        p.drawRoundedRect(r, 6, 6)
        font = p.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 7.0))
        p.setFont(font)
        fm = p.fontMetrics()
        head = QRectF(r.left() + 8, r.top() + 4, r.width() - 16, fm.height())
        p.setPen(QColor(t.muted))
        p.drawText(head, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.title)
        plot = QRectF(r.left() + 8, head.bottom() + 4, r.width() - 16, r.bottom() - head.bottom() - 10)
        if not self.points:
            p.setPen(QColor(t.faint))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, self.empty_text)
            p.end()
            return
        values = [v for _, v in self.points]
        lo, hi = min(values), max(values)
        p.setPen(QColor(t.text))
        p.drawText(head, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.fmt(values[-1]))
        base = min(lo, 0.0) if lo >= 0 else lo
        top = hi if hi > base else base + 1.0
        top += (top - base) * 0.08

        def xy(ago: float, v: float) -> QPointF:
            x = plot.right() - ago / self.span_s * plot.width()
            y = plot.bottom() - (v - base) / (top - base) * plot.height()
            return QPointF(x, y)

        line = QPainterPath(xy(*self.points[0]))
        for ago, v in self.points[1:]:
            line.lineTo(xy(ago, v))
        fill = QPainterPath(line)
        fill.lineTo(QPointF(xy(self.points[-1][0], base).x(), plot.bottom()))
        fill.lineTo(QPointF(xy(self.points[0][0], base).x(), plot.bottom()))
        fill.closeSubpath()
        soft = QColor(t.accent)
        soft.setAlpha(40)
        p.fillPath(fill, soft)
        p.setPen(QPen(QColor(t.accent), 1.6))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(line)
        p.setPen(QColor(t.faint))
        p.drawText(
            QRectF(plot.left(), plot.top(), plot.width(), fm.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            f"max {self.fmt(hi)}",
        )
        p.end()
