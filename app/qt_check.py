"""Say which system library keeps Qt's display plugin from loading, instead of a bare abort.

On Linux, Qt's xcb plugin needs X11 libraries from the system (libxcb-cursor0, libxcb-icccm4, …).
When one is missing, Qt prints a hint on stderr and aborts the whole process. Tern opens the
plugin itself first — the dynamic loader then names the first missing library — and turns that
into a sentence with the package to install.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

# Debian/Ubuntu package for the sonames Qt's xcb plugin most often lacks on minimal systems.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def debian_package(soname: str) -> str:
    """The usual Debian package for a soname: libfoo.so.3 → libfoo3, libfoo-x11.so.0 → libfoo-x11-0."""
    if soname in DEBIAN_PACKAGES:
        return DEBIAN_PACKAGES[soname]
    m = re.fullmatch(r"lib(.+)\.so\.(\d+)", soname)
    if not m:
        return soname
    base, major = m.group(1).lower(), m.group(2)
    return f"lib{base}-{major}" if base[-1].isdigit() else f"lib{base}{major}"


def _platform_name() -> str:
    """The platform plugin Qt will pick: QT_QPA_PLATFORM, else xcb under X11 (Qt's default there)."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip()
    if chosen:
        return chosen
    wayland = os.environ.get("XDG_SESSION_TYPE") == "wayland" and os.environ.get("WAYLAND_DISPLAY")
    return "wayland" if wayland else "xcb"


def platform_plugin_problem() -> str | None:
    """A readable reason Qt's platform plugin cannot load on this system, or None if it can."""
    if not sys.platform.startswith("linux") or _platform_name() != "xcb":
        return None
    from PySide6.QtCore import QLibraryInfo

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    if not plugin.exists():
        return f"Qt's X11 display plugin is missing from this installation ({plugin}). Reinstall Tern."
    return library_problem(plugin)


def library_problem(plugin: Path) -> str | None:
    """Why the shared library `plugin` cannot load (the missing system libraries named), or None."""
    try:
        ctypes.CDLL(str(plugin))
    except OSError as e:
        missing = _missing_with_ldd(plugin)
        m = re.search(r"(lib[\w.+-]+\.so[.\d]*): cannot open shared object file", str(e))
        if m and m.group(1) not in missing:
            missing.insert(0, m.group(1))
        if not missing:
            return f"Qt's X11 display plugin cannot load: {e}"
        libs = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
        packages = " ".join(dict.fromkeys(debian_package(s) for s in missing))
        return (
            f"Tern cannot open its window: Qt's X11 display plugin needs {libs}, "
            f"{'which is' if len(missing) == 1 else 'which are'} not installed on this system. "
            f"On Debian/Ubuntu: sudo apt install {packages} "
            f"(elsewhere, install the packages that provide {'it' if len(missing) == 1 else 'them'})."
        )
    return None


def _missing_with_ldd(plugin: Path) -> list[str]:
    """Every library the plugin cannot find (the loader itself stops at the first one)."""
    import shutil
    import subprocess

    ldd = shutil.which("ldd")
    if not ldd:
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(re.findall(r"^\s*(\S+) => not found", out, flags=re.M)))
