"""Pack the Linux one-folder bundle as `tern-<version>-linux-<arch>.tar.gz` and a `.deb`.

    python packaging/linux_packages.py BUNDLE_DIR OUT_DIR

The tarball holds the bundle (`tern/`), `install.sh` (per-user launcher and icons) and the
launcher/icon files it installs. The .deb installs the bundle to /opt/tern, `tern` in /usr/bin,
the launcher, icons, AppStream data, a man page and the copyright file; its Depends lists the
system libraries the bundle links against but does not carry, found by reading the ELF files
(`readelf -d`) and asking dpkg which package provides each one.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import APP_ID, __version__  # noqa: E402
from app.qt_check import debian_package  # noqa: E402

LINUX = ROOT / "packaging" / "linux"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
DEB_NAME = "tern-chat"
DEB_REVISION = "1"
MAINTAINER = os.environ.get("DEB_MAINTAINER", "Tern maintainers <maintainers@tern-chat.example.org>")
# Qt plugins whose system libraries Tern does not need (it falls back without them): GTK theme,
# Wayland, EGL/VNC/KMS platforms, TLS backends. The X11 (xcb) platform plugin is required.
OPTIONAL_PLUGIN_DIRS = (
    "platformthemes",
    "wayland-",
    "egldeviceintegrations",
    "platforminputcontexts",
    "tls",
    "generic",
    "networkinformation",
)
OPTIONAL_PLATFORMS = (
    "libqwayland",
    "libqeglfs",
    "libqvnc",
    "libqlinuxfb",
    "libqminimalegl",
    "libqvkkhrdisplay",
)


def arch_names() -> tuple[str, str]:
    """(tarball arch, Debian arch) for this machine."""
    m = platform.machine().lower()
    return {
        "x86_64": ("x86_64", "amd64"),
        "amd64": ("x86_64", "amd64"),
        "aarch64": ("aarch64", "arm64"),
        "arm64": ("aarch64", "arm64"),
    }.get(m, (m, m))


def _build_date() -> float:
    return float(os.environ.get("SOURCE_DATE_EPOCH") or time.time())


# -- shared pieces ---------------------------------------------------------------------------
def desktop_file(exec_line: str, try_exec: str) -> str:
    text = (LINUX / f"{APP_ID}.desktop.in").read_text(encoding="utf-8")
    return text.replace("@EXEC@", exec_line).replace("@TRYEXEC@", try_exec)


def install_icons(share: Path) -> None:
    for size in ICON_SIZES:
        d = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "assets" / "icons" / f"tern-{size}.png", d / f"{APP_ID}.png")
    d = share / "icons" / "hicolor" / "scalable" / "apps"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "assets" / "icons" / "tern.svg", d / f"{APP_ID}.svg")


def _normalize(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


# -- tarball ---------------------------------------------------------------------------------
def build_tarball(bundle: Path, out: Path) -> Path:
    arch, _ = arch_names()
    name = f"tern-{__version__}-linux-{arch}"
    stage = out / "stage" / name
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    shutil.copytree(bundle, stage / "tern", symlinks=True)
    shutil.copy2(LINUX / "install.sh", stage / "install.sh")
    (stage / "install.sh").chmod(0o755)
    apps = stage / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy2(LINUX / f"{APP_ID}.desktop.in", apps / f"{APP_ID}.desktop.in")
    install_icons(stage / "share")
    (stage / "README.txt").write_text(
        f"Tern {__version__} for Linux ({arch})\n\n"
        "Run it in place:        ./tern/tern\n"
        "Install for this user:  ./install.sh   (menu launcher, icons, `tern` in ~/.local/bin)\n"
        "Uninstall:              ~/.local/lib/tern/install.sh --uninstall\n"
        "Check the installation: ./tern/tern --self-test\n\n"
        "Tern keeps conversations and models in ~/.local/share/Tern and settings in ~/.config/Tern.\n",
        encoding="utf-8",
    )
    target = out / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(stage, arcname=name, filter=_normalize)
    shutil.rmtree(out / "stage", ignore_errors=True)
    return target


# -- .deb ------------------------------------------------------------------------------------
def _elf_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def _needed(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def _optional(path: Path) -> bool:
    parts = path.parts
    if "plugins" not in parts:
        return False
    rel = "/".join(parts[parts.index("plugins") + 1 :])
    return rel.startswith(OPTIONAL_PLUGIN_DIRS) or Path(rel).name.startswith(OPTIONAL_PLATFORMS)


def _glibc_floor(files: list[Path]) -> str:
    best = (2, 17)
    for p in files:
        text = subprocess.run(["objdump", "-T", str(p)], capture_output=True, text=True).stdout
        for v in re.findall(r"GLIBC_(\d+)\.(\d+)", text):
            best = max(best, (int(v[0]), int(v[1])))
    return f"{best[0]}.{best[1]}"


def _package_of(soname: str) -> str:
    """The Debian package shipping `soname`: asked of dpkg when installed here, else by naming rule."""
    found = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    m = re.search(rf"^\s*{re.escape(soname)} \(.*?\) => (\S+)$", found, flags=re.M)
    if m and shutil.which("dpkg"):
        real = os.path.realpath(m.group(1))
        for candidate in (
            m.group(1),
            real,
            real.replace("/usr/lib/", "/lib/", 1),
            real.replace("/lib/", "/usr/lib/", 1),
        ):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.split(":")[0].strip()
    return debian_package(soname)


def _is_root(path: Path, bundle: Path) -> bool:
    """Where loading starts: the executable, extension modules, llama.cpp's libraries, needed plugins.

    Shared libraries the bundle carries (top level, Qt's lib folder) count only when something
    reached from a root needs them, so libraries used only by optional Qt plugins add no Depends.
    """
    rel = path.relative_to(bundle).parts
    if _optional(path):
        return False
    if len(rel) == 2 and rel[0] == "_internal":  # bundled system libraries at the top level
        return False
    return not (len(rel) > 3 and rel[1:4] == ("PySide6", "Qt", "lib"))


def deb_depends(bundle: Path) -> tuple[str, list[str]]:
    """The Depends line, and the external sonames it covers (needed, yet not in the bundle)."""
    files = _elf_files(bundle)
    by_name = {p.name: p for p in files}
    for link in bundle.rglob("*"):
        if link.is_symlink() and link.resolve() in files:
            by_name.setdefault(link.name, link.resolve())
    todo = [p for p in files if _is_root(p, bundle)]
    seen: set[Path] = set(todo)
    external: set[str] = set()
    while todo:
        p = todo.pop()
        for soname in _needed(p):
            dep = by_name.get(soname)
            if dep is None:
                external.add(soname)
            elif dep not in seen:
                seen.add(dep)
                todo.append(dep)
    libc = {
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
    }
    packages = {f"libc6 (>= {_glibc_floor(sorted(seen))})"}
    for soname in sorted(external - libc):
        packages.add(_package_of(soname))
    return ", ".join(sorted(packages)), sorted(external)


def _installed_size_kib(root: Path) -> int:
    return sum(
        (p.stat().st_size + 1023) // 1024 for p in root.rglob("*") if p.is_file() and not p.is_symlink()
    )


def _write_gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0, filename="") as f,
    ):
        f.write(text.encode("utf-8"))


def build_deb(bundle: Path, out: Path) -> Path:
    _, deb_arch = arch_names()
    version = f"{__version__}-{DEB_REVISION}"
    root = out / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(bundle, root / "opt" / "tern", symlinks=True)
    app_dir = root / "opt" / "tern"
    for p in app_dir.rglob("*"):  # sane modes whatever the build umask was; libraries are not programs
        if not p.is_symlink():
            library = ".so" in p.name or p.suffix in (".pyd", ".dylib")
            executable = p.is_dir() or (os.access(p, os.X_OK) and not library)
            p.chmod(0o755 if executable else 0o644)
    (root / "usr" / "bin").mkdir(parents=True)
    os.symlink("/opt/tern/tern", root / "usr" / "bin" / "tern")
    share = root / "usr" / "share"
    (share / "applications").mkdir(parents=True)
    (share / "applications" / f"{APP_ID}.desktop").write_text(desktop_file("tern", "tern"), encoding="utf-8")
    install_icons(share)
    date = time.gmtime(_build_date())
    (share / "metainfo").mkdir(parents=True)
    (share / "metainfo" / f"{APP_ID}.metainfo.xml").write_text(
        (LINUX / f"{APP_ID}.metainfo.xml")
        .read_text(encoding="utf-8")
        .replace("@VERSION@", __version__)
        .replace("@DATE@", time.strftime("%Y-%m-%d", date)),
        encoding="utf-8",
    )
    _write_gz(share / "man" / "man1" / "tern.1.gz", (LINUX / "tern.1").read_text(encoding="utf-8"))
    doc = share / "doc" / DEB_NAME
    doc.mkdir(parents=True)
    shutil.copy2(LINUX / "copyright", doc / "copyright")
    _write_gz(
        doc / "changelog.Debian.gz",
        f"{DEB_NAME} ({version}) unstable; urgency=medium\n\n"
        f"  * Tern {__version__} as a self-contained bundle in /opt/tern.\n\n"
        f" -- {MAINTAINER}  {time.strftime('%a, %d %b %Y %H:%M:%S +0000', date)}\n",
    )
    overrides = share / "lintian" / "overrides"
    overrides.mkdir(parents=True)
    shutil.copy2(LINUX / "lintian-overrides", overrides / DEB_NAME)
    for p in root.rglob("*"):
        if p.is_dir():
            p.chmod(0o755)
        elif not p.is_symlink() and "opt" not in p.relative_to(root).parts[:1]:
            p.chmod(0o644)

    depends, external = deb_depends(root / "opt" / "tern")
    print(f"deb: system libraries not in the bundle: {', '.join(external) or 'none'}")
    control = root / "DEBIAN" / "control"
    control.parent.mkdir(mode=0o755)
    control.write_text(
        f"Package: {DEB_NAME}\n"
        f"Version: {version}\n"
        f"Architecture: {deb_arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {_installed_size_kib(root)}\n"
        f"Depends: {depends}\n"
        "Section: science\n"
        "Priority: optional\n"
        "Description: desktop chat for 1.58-bit (ternary) language models\n"
        " Tern runs ternary (BitNet b1.58-style) language models offline through\n"
        " llama.cpp's ternary CPU kernels, and shows what ternary saves on this\n"
        " computer: memory, latency and power, measured side by side with an FP16\n"
        " variant of the same weights.\n"
        " .\n"
        " This package is a self-contained bundle in /opt/tern with its own Python,\n"
        " Qt and llama.cpp (CPU kernels for every x86-64 generation, chosen at start).\n",
        encoding="utf-8",
    )
    sums = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and "DEBIAN" not in p.relative_to(root).parts:
            import hashlib

            sums.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n")
    (root / "DEBIAN" / "md5sums").write_text("".join(sums), encoding="utf-8")
    for p in (root / "DEBIAN").iterdir():
        p.chmod(0o644)
    target = out / f"{DEB_NAME}_{version}_{deb_arch}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(root)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="the PyInstaller one-folder bundle (…/dist/tern)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--only", choices=("tarball", "deb"))
    args = ap.parse_args(argv)
    if not (args.bundle / "tern").is_file():
        ap.error(f"{args.bundle}/tern not found: build the bundle first (make package)")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "deb":
        print(f"tarball: {build_tarball(args.bundle, args.out)}")
    if args.only != "tarball":
        print(f"deb: {build_deb(args.bundle, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
