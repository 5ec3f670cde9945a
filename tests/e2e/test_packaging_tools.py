"""`make run/test/package` check the system first and name what is missing (packaging/check_tools.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import check_tools  # noqa: E402

EVERYTHING = {s for libs in check_tools.LIBRARIES.values() for s in libs}


def stub_path(tmp_path: Path, commands: list[str]) -> str:
    """A PATH holding only these (stub) commands."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in commands:
        stub = folder / name
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return str(folder)


def test_package_names_every_missing_tool_and_library_and_one_apt_line() -> None:
    present = {"cc", "c++", "make", "cmake", "patch", "readelf", "objdump", "dpkg-deb", "xwininfo"}
    libs = EVERYTHING - {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    gaps = check_tools.missing("package", which=lambda c: c if c in present else None, libs=libs)
    text = check_tools.report("package", gaps)
    assert {p for _, p in gaps} == {"libxcb-icccm4", "libxcb-keysyms1", "desktop-file-utils", "lintian", "xvfb",
                                    "x11-apps"}
    assert "sudo apt-get install desktop-file-utils libxcb-icccm4 libxcb-keysyms1 lintian x11-apps xvfb" in text
    # a stage asks only for its own needs: the engine build needs none of the packaging tools or Qt libraries
    assert check_tools.missing("build", which=lambda c: c if c in present else None, libs=set()) == []
    assert ("the command patch", "patch") in check_tools.missing("build", which=lambda c: None, libs=None)
    assert ("a monospaced font", "fonts-dejavu-core") in check_tools.missing("test", which=lambda c: c, libs=EVERYTHING,
                                                                             fonts=False)


def test_the_check_runs_first_and_stops_make_package_before_any_long_step(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": stub_path(tmp_path, ["cc", "c++", "make", "cmake", "patch"])}
    r = subprocess.run([sys.executable, str(ROOT / "packaging" / "check_tools.py"), "package"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "`make package` needs" in r.stderr and "lintian" in r.stderr
    recipe = (ROOT / "Makefile").read_text()
    package = recipe.split("\npackage:")[1].split("\n\n")[0]
    assert package.strip().splitlines()[0].strip() == "@$(PYTHON) packaging/check_tools.py package"


@pytest.mark.skipif(sys.platform != "linux", reason="PySide6's Linux libraries")
def test_the_library_lists_cover_what_pyside6_links_against() -> None:
    """Every system library Qt's modules and the offscreen/xcb plugins list as NEEDED is checked for."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    files = [qt / "lib" / f"libQt6{m}.so.6" for m in ("Core", "Gui", "Widgets", "Svg", "DBus", "XcbQpa")]
    files += [qt / "plugins" / "platforms" / p for p in ("libqoffscreen.so", "libqxcb.so")]
    needed: set[str] = set()
    for f in files:
        out = subprocess.run(["readelf", "-d", str(f)], capture_output=True, text=True, check=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out))
    base = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libdl.so.2",
            "libpthread.so.0", "librt.so.1", "libz.so.1", "libzstd.so.1", "libgthread-2.0.so.0",
            "ld-linux-aarch64.so.1"}  # in every Debian base system (libc6, libstdc++6, zlib1g, libzstd1, glib)
    qt_own = {n for n in needed if n.startswith(("libQt6", "libicu"))}  # shipped in the wheel
    assert needed - qt_own - base - EVERYTHING == set()


def test_the_readme_names_every_package_make_run_and_make_test_need() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up")[1].split("\n## ")[0]
    wanted = {p for st in ("build", "test", "run") for p in check_tools.COMMANDS.get(st, {}).values()}
    wanted |= {p for st in ("test", "run") for p in check_tools.LIBRARIES[st].values()}
    wanted |= {check_tools.FONT_PACKAGE, "python3-venv"}
    assert {p for p in wanted if not re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", setup)} == set()
    packaging = (ROOT / "packaging" / "README.md").read_text()
    for package in check_tools.COMMANDS["package"].values():
        assert package in packaging
