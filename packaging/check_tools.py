"""Check, before any long step, that this system has what a `make` target needs, and say what is missing.

    python3 packaging/check_tools.py build|test|run|package

Stages add up: `build` (make the venv and compile the engine) ⊂ `test` (Qt offscreen, fonts) ⊂ `run`
(Qt's X11 display plugin) ⊂ `package` (the bundle, the .deb and their checks). Commands are looked up
on PATH; shared libraries in the dynamic loader's cache (`ldconfig -p`), the names being what
PySide6's Qt libraries and plugins list as NEEDED (readelf -d). On Debian/Ubuntu the message ends in
the one `apt-get install` line that fixes it all. Standard library only: it runs before the venv exists.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable

MIN_PYTHON = (3, 11)
STAGES = ("build", "test", "run", "package")

# command → Debian/Ubuntu package
COMMANDS = {
    "build": {"cc": "build-essential", "c++": "build-essential", "make": "make", "cmake": "cmake",
              "patch": "patch"},  # the engine build applies Tern's patches with patch(1)
    "package": {"readelf": "binutils", "objdump": "binutils", "dpkg-deb": "dpkg",
                "desktop-file-validate": "desktop-file-utils", "lintian": "lintian", "Xvfb": "xvfb",
                "xwininfo": "x11-utils", "xwd": "x11-apps"},
}
# soname → Debian/Ubuntu package: what Qt needs from the system (PySide6 6.x wheels)
LIBRARIES = {
    "test": {  # QtCore, QtGui, QtWidgets, QtSvg and the offscreen platform plugin
        "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libX11.so.6": "libx11-6",
        "libdbus-1.so.3": "libdbus-1-3", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
        "libglib-2.0.so.0": "libglib2.0-0", "libxkbcommon.so.0": "libxkbcommon0",
    },
    "run": {  # the xcb platform plugin (a window on an X11 or XWayland display)
        "libX11-xcb.so.1": "libx11-xcb1", "libxcb.so.1": "libxcb1", "libxcb-cursor.so.0": "libxcb-cursor0",
        "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
        "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0",
        "libxcb-render.so.0": "libxcb-render0", "libxcb-render-util.so.0": "libxcb-render-util0",
        "libxcb-shape.so.0": "libxcb-shape0", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
        "libxcb-util.so.1": "libxcb-util1", "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    },
}
FONT_PACKAGE = "fonts-dejavu-core"  # Qt needs a font, code needs a monospaced one


def stages_up_to(stage: str) -> list[str]:
    return list(STAGES[: STAGES.index(stage) + 1])


def loader_cache() -> set[str] | None:
    """Sonames the dynamic loader knows (`ldconfig -p`), or None where that cannot be asked."""
    for cmd in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        try:
            out = subprocess.run([cmd, "-p"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}
    return None


def has_fonts() -> bool | None:
    """True when fontconfig lists a monospaced font; None where fontconfig's tools are not there to ask."""
    if shutil.which("fc-list") is None:
        return None
    out = subprocess.run(["fc-list", ":spacing=mono", "family"], capture_output=True, text=True, timeout=10).stdout
    return bool(out.strip())


def missing(stage: str, which: Callable[[str], str | None] = shutil.which, libs: set[str] | None = None,
            fonts: bool | None = True, system: str = "Linux") -> list[tuple[str, str]]:
    """What `stage` needs and this system lacks, as (what, Debian package)."""
    out: list[tuple[str, str]] = []
    for st in stages_up_to(stage):
        for cmd, package in COMMANDS.get(st, {}).items():
            if which(cmd) is None:
                out.append((f"the command {cmd}", package))
        if system == "Linux" and libs is not None:
            for soname, package in LIBRARIES.get(st, {}).items():
                if soname not in libs:
                    out.append((f"the library {soname}", package))
        if st == "test" and system == "Linux" and fonts is False:
            out.append(("a monospaced font", FONT_PACKAGE))
    return out


def report(stage: str, gaps: list[tuple[str, str]]) -> str:
    packages = sorted({p for _, p in gaps})
    lines = [f"`make {'venv' if stage == 'build' else stage}` needs what this system does not have yet:"]
    lines += [f"  - {what} (Debian/Ubuntu package {package})" for what, package in gaps]
    lines.append(f"On Debian/Ubuntu: sudo apt-get install {' '.join(packages)}")
    lines.append("Elsewhere, install the packages that provide them (README.md, Set up).")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    stage = argv[0] if argv else "build"
    if stage not in STAGES:
        print(f"check_tools: unknown stage {stage!r}; one of {', '.join(STAGES)}", file=sys.stderr)
        return 2
    if sys.version_info < MIN_PYTHON:
        print(f"Tern needs Python ≥ {'.'.join(map(str, MIN_PYTHON))}; this is {platform.python_version()} "
              f"({sys.executable}). Run make with PYTHON=python3.12 (or newer).", file=sys.stderr)
        return 1
    try:
        import ensurepip  # noqa: F401 - Debian splits it out (python3-venv); `python3 -m venv` fails without
    except ImportError:
        print("Python's venv module cannot install pip here. On Debian/Ubuntu: sudo apt-get install python3-venv",
              file=sys.stderr)
        return 1
    system = platform.system()
    if stage == "run" and os.environ.get("QT_QPA_PLATFORM", "xcb").split(":")[0] not in ("", "xcb"):
        stage = "test"  # another display plugin (offscreen, wayland…): Qt's X11 libraries are not needed
    gaps = missing(stage, libs=loader_cache() if system == "Linux" else None,
                   fonts=has_fonts() if system == "Linux" else True, system=system)
    if gaps:
        print(report(stage, gaps), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
