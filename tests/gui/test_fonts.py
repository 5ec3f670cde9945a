"""Code is shown in a font whose columns line up, measured as a reader sees it (ui/fonts.py)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFont, QFontDatabase, QFontMetricsF

from ui import fonts


def advances(font: QFont, chars: str = "iW") -> set[float]:
    fm = QFontMetricsF(font)
    return {round(fm.horizontalAdvance(c), 2) for c in chars}


def test_the_code_font_gives_i_and_w_the_same_advance(qtbot) -> None:
    font = fonts.code_font(13)
    assert len(advances(font)) == 1, (font.family(), advances(font))
    assert font.pixelSize() == 13


def test_a_proportional_system_fixed_font_is_passed_over_for_a_real_monospaced_one(qtbot, monkeypatch) -> None:
    installed = QFontDatabase.families()
    if not any(name in installed for name in fonts.FALLBACK):
        pytest.skip("no monospaced fallback family installed here")
    proportional = QFont("DejaVu Sans" if "DejaVu Sans" in installed else installed[0])
    assert len(advances(proportional)) > 1  # a reader would see ragged columns in it

    class Database:  # what a system whose "fixed" font is not monospaced reports
        SystemFont = QFontDatabase.SystemFont

        @staticmethod
        def systemFont(_kind: object) -> QFont:  # noqa: N802 - Qt's name
            return QFont(proportional)

        @staticmethod
        def families() -> list[str]:
            return installed

    monkeypatch.setattr(fonts, "QFontDatabase", Database)
    font = fonts.code_font(13)
    assert font.family() != proportional.family() and font.family() in fonts.FALLBACK
    assert len(advances(font, "il.0W")) == 1
