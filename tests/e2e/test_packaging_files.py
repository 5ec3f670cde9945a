"""The files the packages install: icons in every size, a valid launcher, a working install script."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import xml.dom.minidom
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import icons  # noqa: E402
import linux_packages  # noqa: E402

from backend.engine import cpu_backends  # noqa: E402


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_committed_icon_renders_have_the_sizes_their_names_say() -> None:
    for size in icons.PNG_SIZES:
        data = (ROOT / "assets" / "icons" / f"tern-{size}.png").read_bytes()
        assert _png_size(data) == (size, size)


def test_ico_and_icns_hold_every_size_as_png(tmp_path: Path, qapp: object) -> None:
    # qapp: the renderer needs a Qt application; pytest-qt's keeps later widget tests working.
    ico, icns = icons.write_bundle_icons(tmp_path)
    data = ico.read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    sizes = []
    for i in range(count):
        w, _h, _c, _r, _planes, _bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        sizes.append(_png_size(data[offset : offset + length])[0])
        assert (w or 256) == sizes[-1]
    assert sorted(sizes) == sorted(icons.ICO_SIZES)

    data = icns.read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    pos, kinds = 8, {}
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        kinds[kind] = _png_size(data[pos + 8 : pos + length])[0]
        pos += length
    assert kinds[b"ic10"] == 1024 and kinds[b"ic07"] == 128


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils not installed")
def test_launcher_is_valid_for_both_install_methods(tmp_path: Path) -> None:
    for exec_line, try_exec in (
        ("tern", "tern"),
        ('"/home/a b/.local/lib/tern/tern"', "/home/a b/.local/lib/tern/tern"),
    ):
        desktop = tmp_path / "org.tern.Tern.desktop"
        desktop.write_text(linux_packages.desktop_file(exec_line, try_exec), encoding="utf-8")
        r = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_install_script_parses_and_appstream_data_is_well_formed() -> None:
    subprocess.run(["sh", "-n", str(ROOT / "packaging" / "linux" / "install.sh")], check=True)
    doc = xml.dom.minidom.parse(str(ROOT / "packaging" / "linux" / "org.tern.Tern.metainfo.xml"))
    assert doc.getElementsByTagName("id")[0].firstChild.data == "org.tern.Tern"  # type: ignore[union-attr]


def test_cpu_variant_libraries_are_recognised_by_name(tmp_path: Path) -> None:
    prefix, suffix = ("ggml-cpu-", ".dll") if sys.platform == "win32" else ("libggml-cpu-", ".so")
    for name in ("x64", "haswell", "alderlake"):
        (tmp_path / f"{prefix}{name}{suffix}").write_bytes(b"\0")
    (tmp_path / f"{prefix.rstrip('-')}{suffix}").write_bytes(b"\0")  # a native build's single backend
    assert sorted(cpu_backends.variant_files(tmp_path)) == ["alderlake", "haswell", "x64"]


def test_ggml_is_opened_by_the_soname_libllama_links(tmp_path: Path) -> None:
    """Opening another copy of libggml would register the CPU backend where llama.cpp cannot see it."""
    for name in (
        "libggml.so",
        "libggml.so.0",
        "libggml.so.0.25.3",
        "libggml-base.so.0",
        "ggml.dll",
        "libggml.dylib",
        "libggml.0.dylib",
    ):
        (tmp_path / name).write_bytes(b"\0")
    expected = {"win32": "ggml.dll", "darwin": "libggml.0.dylib"}.get(sys.platform, "libggml.so.0")
    assert cpu_backends.ggml_library(tmp_path).name == expected
