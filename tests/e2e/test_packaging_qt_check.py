"""A missing system library behind Qt's display plugin is named, with the package to install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.qt_check import debian_package, library_problem

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not shutil.which("cc"),
    reason="needs Linux and a C compiler to build a plugin with a missing dependency",
)


def _build_plugin(tmp_path: Path, dep_name: str) -> tuple[Path, Path]:
    """A shared library that needs `dep_name` (a soname used once per process), and that dependency."""
    dep = tmp_path / dep_name
    (tmp_path / "dep.c").write_text("int tern_gone(void) { return 7; }\n")
    (tmp_path / "plugin.c").write_text("int tern_gone(void);\nint plugin(void) { return tern_gone(); }\n")
    subprocess.run(
        ["cc", "-shared", "-fPIC", f"-Wl,-soname,{dep_name}", "-o", str(dep), str(tmp_path / "dep.c")],
        check=True,
    )
    plugin = tmp_path / "libqfake.so"
    subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-o",
            str(plugin),
            str(tmp_path / "plugin.c"),
            "-Wl,--no-as-needed",
            str(dep),
            f"-Wl,-rpath,{tmp_path}",
        ],
        check=True,
    )
    return plugin, dep


def test_missing_library_is_named_with_its_package(tmp_path: Path) -> None:
    plugin, dep = _build_plugin(tmp_path, "libtern-gone.so.7")
    dep.unlink()
    message = library_problem(plugin)
    assert message is not None
    assert "libtern-gone.so.7" in message
    assert "sudo apt install libtern-gone7" in message


def test_loadable_library_has_no_problem(tmp_path: Path) -> None:
    plugin, _dep = _build_plugin(tmp_path, "libtern-here.so.3")
    assert library_problem(plugin) is None


def test_debian_package_names_follow_debian_policy() -> None:
    assert debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert debian_package("libfoo2.so.1") == "libfoo2-1"  # a name ending in a digit takes a hyphen
