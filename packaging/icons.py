"""Render Tern's icon (assets/icons/tern.svg) to PNG sizes, a Windows .ico and a macOS .icns.

Uses QtSvg (already a dependency) and writes the .ico/.icns containers by hand — both formats
accept embedded PNG images — so packaging needs no Pillow, Inkscape or iconutil, and the same
script runs on the Linux, macOS and Windows release runners.

usage: python packaging/icons.py pngs assets/icons          # committed renders (16…512 px)
       python packaging/icons.py bundle build/icons          # tern.ico, tern.icns, tern-256.png
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "assets" / "icons" / "tern.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns element types holding PNG data, by pixel size (Apple's "ic07".."ic14" family).
ICNS_TYPES = (
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
)


def render_png(size: int, svg: Path = SVG) -> bytes:
    """The SVG drawn at size×size pixels, antialiased, on a transparent background."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A .ico holding one PNG per size (Windows Vista and later read PNG entries)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        blob = pngs[s]
        dim = 0 if s >= 256 else s  # 0 means 256 in the directory entry
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A .icns whose elements are PNG data (macOS 10.7+)."""
    body = b""
    for kind, size in ICNS_TYPES:
        if size in pngs:
            body += kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_pngs(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in PNG_SIZES:
        p = out / f"tern-{s}.png"
        p.write_bytes(render_png(s))
        written.append(p)
    return written


def write_bundle_icons(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    pngs = {s: render_png(s) for s in sorted({*ICO_SIZES, *(s for _, s in ICNS_TYPES)})}
    ico = out / "tern.ico"
    ico.write_bytes(ico_bytes({s: pngs[s] for s in ICO_SIZES}))
    icns = out / "tern.icns"
    icns.write_bytes(icns_bytes(pngs))
    return [ico, icns]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("pngs", "bundle"):
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    written = write_pngs(out) if argv[0] == "pngs" else write_bundle_icons(out)
    for p in written:
        print(f"icons: wrote {p} ({p.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
