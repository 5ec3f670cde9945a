"""`make smoke`: run the BUILT Linux packages, not the source tree, and stop at the first failure.

    python packaging/smoke.py --tarball TARBALL --deb DEB --out build/smoke     (Linux)
    python packaging/smoke.py --exe BUNDLE_EXECUTABLE --out build/smoke          (macOS, Windows)

Linux (--tarball, --deb), every step on the artifacts a user downloads:
1. unpack the tarball into a scratch folder
2. `tern --version --verbose`: the CPU variant in use and the ternary fast path
3. `tern --self-test` offscreen: tiny synthetic pair, each variant in the bundle's own engine worker
4. the same with the most basic CPU variant forced (a CPU without AVX2): still runs, says ternary is slow
5. a damaged copy of the bundle (CPU variant libraries removed): `--self-test` must fail with a reason
6. `install.sh` into a scratch HOME: launcher valid (desktop-file-validate), icons, `tern` runs; `--uninstall`
7. the .deb unpacked: /opt/tern/tern runs, launcher and icons in place
8. the window under Xvfb with Qt's normal xcb plugin: `tern gui --screenshot` and an X screen capture

macOS and Windows (--exe, used by release.yml): steps 2–5 on the bundle in place, Tern.exe's own
worker mode on Windows, and the window with the platform's own Qt plugin.

Every run uses a scratch TERN_HOME and no network. Screenshots land in --out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

APP_ID = "org.tern.Tern"


class SmokeFailed(Exception):
    pass


def say(msg: str) -> None:
    print(f"smoke: {msg}", flush=True)


def run(
    cmd: list[str], env: dict[str, str], timeout: float = 300, expect: int | None = 0, show: bool = True
) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        cmd, env=env, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout
    )
    if show:
        for line in (r.stdout + r.stderr).rstrip().splitlines():
            print(f"    {line}")
    if expect is not None and r.returncode != expect:
        raise SmokeFailed(f"{' '.join(cmd)} exited {r.returncode}, expected {expect}")
    return r


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERN_", "QT_", "PYTHON", "LLAMA_CPP"))}
    env.update(TERN_HOME=str(home / "tern-home"), HF_HUB_OFFLINE="1", HOME=str(home), PYTHONUTF8="1")
    env.pop("DISPLAY", None)
    return env


# -- steps -------------------------------------------------------------------------------------
def unpack(tarball: Path, scratch: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(scratch, filter="tar")
    (top,) = [p for p in scratch.iterdir() if p.is_dir() and p.name.startswith("tern-")]
    exe = top / "tern" / "tern"
    if not os.access(exe, os.X_OK):
        raise SmokeFailed(f"{exe} is missing or not executable")
    size = sum(p.stat().st_size for p in (top / "tern").rglob("*") if p.is_file() and not p.is_symlink())
    say(
        f"unpacked {tarball.name} ({tarball.stat().st_size / 1e6:.0f} MB) → "
        f"bundle {size / 1e6:.0f} MB unpacked"
    )
    return top


def version(exe: Path, env: dict[str, str]) -> str:
    out = run([str(exe), "--version", "--verbose"], env, timeout=60).stdout
    if "frozen bundle" not in out:
        raise SmokeFailed("--version --verbose does not say it runs as a frozen bundle")
    if "llama.cpp CPU backend:" not in out or "Fast ternary kernels:" not in out:
        raise SmokeFailed("--version --verbose does not name the CPU backend and the ternary fast path")
    return out


def self_test(exe: Path, env: dict[str, str], expect: int | None = 0) -> subprocess.CompletedProcess[str]:
    r = run([str(exe), "--self-test"], {**env, "QT_QPA_PLATFORM": "offscreen"}, timeout=300, expect=expect)
    if expect == 0 and "this bundle's own executable" not in r.stdout:
        raise SmokeFailed("the self-test's engine workers did not run from the bundle's executable")
    return r


def llama_lib_dir(bundle: Path) -> Path:
    """llama_cpp/lib inside a bundle folder (Linux/Windows: _internal/…, macOS: Contents/Frameworks/…)."""
    for p in sorted(bundle.rglob("lib")):
        if p.parent.name == "llama_cpp" and p.is_dir():
            return p
    raise SmokeFailed(f"no llama_cpp/lib folder in {bundle}")


def variant_libs(lib_dir: Path) -> dict[str, Path]:
    prefix, suffix = ("ggml-cpu-", ".dll") if sys.platform == "win32" else ("libggml-cpu-", ".so")
    return {p.name[len(prefix) : -len(suffix)]: p for p in lib_dir.glob(f"{prefix}*{suffix}")}


def lowest_variant(lib_dir: Path) -> str | None:
    """The baseline CPU variant (no SIMD beyond the architecture's minimum), if the bundle has it."""
    names = variant_libs(lib_dir)
    for base in ("x64", "armv8.0_1", "apple_m1"):
        if base in names:
            return base
    return None


def forced_basic_variant(exe: Path, bundle: Path, env: dict[str, str]) -> None:
    variant = lowest_variant(llama_lib_dir(bundle))
    if variant is None:
        say("  (native build in this bundle: no CPU variants to force — skipped)")
        return
    forced = {**env, "TERN_CPU_VARIANT": variant}
    out = version(exe, forced)
    if variant not in out:
        raise SmokeFailed(f"TERN_CPU_VARIANT={variant} is not reported as the backend in use")
    if variant != "apple_m1" and "ternary models will be slow here" not in out:
        raise SmokeFailed(f"the {variant} variant (no AVX2) is not reported as slow for ternary")
    self_test(exe, forced)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # fast, and the original bundle is untouched: only links are removed
    except OSError:
        shutil.copy2(src, dst)


def damaged_bundle(bundle: Path, exe_name: str, scratch: Path, env: dict[str, str]) -> None:
    broken = scratch / "broken"
    shutil.copytree(bundle, broken, symlinks=True, copy_function=_link_or_copy)
    variants = variant_libs(llama_lib_dir(broken))
    if not variants:
        say("  (native build in this bundle: no CPU variants to remove — skipped)")
        return
    for p in variants.values():
        p.unlink()
    r = self_test(broken / exe_name, env, expect=1)
    if "FAILED while" not in r.stdout or "ggml-cpu" not in r.stdout or "Traceback" in r.stdout + r.stderr:
        raise SmokeFailed("the damaged bundle's self-test did not fail with a readable reason")


def install_script(top: Path, scratch: Path, env: dict[str, str]) -> None:
    home = scratch / "home"
    home.mkdir()
    henv = {**env, "HOME": str(home), "PATH": f"{home}/.local/bin:{env.get('PATH', '')}"}
    henv.pop("XDG_DATA_HOME", None)
    run([str(top / "install.sh")], henv, timeout=300)
    desktop = home / ".local/share/applications" / f"{APP_ID}.desktop"
    run(["desktop-file-validate", str(desktop)], henv)
    exec_line = re.search(r"^Exec=(.*)$", desktop.read_text(), flags=re.M)
    if not exec_line or not os.access(exec_line.group(1).strip('"'), os.X_OK):
        raise SmokeFailed(f"the launcher's Exec line does not point at the installed program: {exec_line}")
    for size in ("48x48", "256x256", "scalable"):
        if not list((home / ".local/share/icons/hicolor" / size / "apps").glob(f"{APP_ID}.*")):
            raise SmokeFailed(f"no {size} icon installed")
    r = run([str(home / ".local/bin/tern"), "--version"], henv, timeout=60)
    if not r.stdout.startswith("tern "):
        raise SmokeFailed("the installed `tern` does not run")
    run([str(home / ".local/lib/tern/install.sh"), "--uninstall"], henv)
    caches = ("mimeinfo.cache", "icon-theme.cache")  # the desktop's shared caches, rebuilt by the tools
    left = [
        p for p in (home / ".local").rglob("*") if (p.is_file() or p.is_symlink()) and p.name not in caches
    ]
    if left:
        raise SmokeFailed(f"--uninstall left files behind: {left[:5]}")


def deb_package(deb: Path, scratch: Path, env: dict[str, str]) -> None:
    root = scratch / "deb"
    run(["dpkg-deb", "-x", str(deb), str(root)], env, show=False)
    info = run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"], env).stdout
    if "Depends:" not in info:
        raise SmokeFailed("the .deb has no Depends")
    if os.readlink(root / "usr/bin/tern") != "/opt/tern/tern":
        raise SmokeFailed("/usr/bin/tern does not point at /opt/tern/tern")
    run(["desktop-file-validate", str(root / "usr/share/applications" / f"{APP_ID}.desktop")], env)
    if not (root / "usr/share/icons/hicolor/256x256/apps" / f"{APP_ID}.png").is_file():
        raise SmokeFailed("the .deb has no 256x256 icon")
    r = run([str(root / "opt/tern/tern"), "--version"], env, timeout=60)
    if not r.stdout.startswith("tern "):
        raise SmokeFailed("/opt/tern/tern from the .deb does not run")


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    if not shutil.which("Xvfb"):
        raise SmokeFailed("Xvfb is not installed (Debian: apt-get install xvfb)")
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise SmokeFailed("Xvfb did not start")
    return proc, f":{number}"


def xwd_to_png(xwd: bytes, png: Path, python: str) -> None:
    """Convert an X window dump (ZPixmap, 24 or 32 bits per pixel, LSB first) to PNG with Qt."""
    h = struct.unpack(">25I", xwd[:100])
    header_size, width, height, bits_per_pixel, bytes_per_line, ncolors = (
        h[0],
        h[4],
        h[5],
        h[11],
        h[12],
        h[19],
    )
    if bits_per_pixel not in (24, 32):
        raise SmokeFailed(f"cannot read an X screen dump with {bits_per_pixel} bits per pixel")
    offset = header_size + ncolors * 12  # the header, then one XWDColor (12 bytes) per colormap entry
    tmp = png.with_suffix(".raw")
    tmp.write_bytes(xwd[offset : offset + bytes_per_line * height])
    fmt = "Format_BGR888" if bits_per_pixel == 24 else "Format_RGB32"
    code = (
        "import sys;from PySide6.QtGui import QImage;d=open(sys.argv[1],'rb').read();"
        f"QImage(d,{width},{height},{bytes_per_line},QImage.Format.{fmt}).save(sys.argv[2])"
    )
    subprocess.run(
        [python, "-c", code, str(tmp), str(png)],
        check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    tmp.unlink()


def window_under_xvfb(exe: Path, env: dict[str, str], out: Path) -> None:
    xvfb, display = start_xvfb()
    xenv = {**env, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    try:
        shot = out / "window.png"
        shot.unlink(missing_ok=True)
        t0 = time.perf_counter()
        r = run([str(exe), "gui", "--screenshot", str(shot)], xenv, timeout=120, expect=None)
        if r.returncode != 0:
            reason = next((line for line in r.stderr.splitlines() if line.startswith("tern:")), "")
            raise SmokeFailed(f"the window did not open under X11 (exit {r.returncode}) {reason}".strip())
        if not shot.is_file() or shot.stat().st_size < 1000:
            raise SmokeFailed("the window screenshot is missing or empty")
        say(f"  window opened with the xcb plugin and saved {shot} in {time.perf_counter() - t0:.1f} s")
        capture_screen(exe, xenv, out)
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def capture_screen(exe: Path, xenv: dict[str, str], out: Path) -> None:
    """Start the app normally, wait until X maps its window, and capture the whole X screen."""
    app = subprocess.Popen([str(exe)], env=xenv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = subprocess.run(["xwininfo", "-name", "Tern"], env=xenv, capture_output=True, text=True)
            if "IsViewable" in r.stdout:
                break
            if app.poll() is not None:
                raise SmokeFailed(
                    f"the app exited ({app.returncode}) before its window appeared: "
                    f"{app.stderr.read().decode(errors='replace')[-500:]}"
                )
            time.sleep(0.2)
        else:
            raise SmokeFailed("no window named Tern was mapped on the X server within 60 s")
        time.sleep(1.5)  # let it paint
        xwd = subprocess.run(["xwd", "-root", "-silent"], env=xenv, capture_output=True, check=True).stdout
        xwd_to_png(xwd, out / "screen.png", sys.executable)
        say(f"  X screen captured with the running window: {out / 'screen.png'}")
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()


def linux_packages(args: argparse.Namespace, scratch: Path, env: dict[str, str]) -> list[tuple[str, object]]:
    box: dict[str, Path] = {}

    def unpack_step() -> None:
        box["top"] = unpack(args.tarball, scratch)

    def exe() -> Path:
        return box["top"] / "tern" / "tern"

    return [
        ("unpack the tarball", unpack_step),
        ("tern --version --verbose", lambda: version(exe(), env)),
        ("tern --self-test (offscreen)", lambda: self_test(exe(), env)),
        (
            "the most basic CPU variant forced: still runs, says ternary is slow",
            lambda: forced_basic_variant(exe(), box["top"] / "tern", env),
        ),
        (
            "a damaged bundle (CPU variants removed): self-test fails with a reason",
            lambda: damaged_bundle(box["top"] / "tern", "tern", scratch, env),
        ),
        ("install.sh for a user, then --uninstall", lambda: install_script(box["top"], scratch, env)),
        ("the .deb's contents run", lambda: deb_package(args.deb, scratch, env)),
        ("the window under Xvfb with the xcb plugin", lambda: window_under_xvfb(exe(), env, args.out)),
    ]


def bundle_steps(args: argparse.Namespace, scratch: Path, env: dict[str, str]) -> list[tuple[str, object]]:
    """macOS and Windows (release.yml): the built bundle folder in place, its native window platform."""
    exe: Path = args.exe
    bundle = exe.parent.parent.parent if exe.parent.name == "MacOS" else exe.parent
    steps: list[tuple[str, object]] = [
        ("tern --version --verbose", lambda: version(exe, env)),
        ("tern --self-test (offscreen)", lambda: self_test(exe, env)),
        ("the most basic CPU variant forced: still runs", lambda: forced_basic_variant(exe, bundle, env)),
        (
            "a damaged bundle (CPU variants removed): self-test fails with a reason",
            lambda: damaged_bundle(bundle, str(exe.relative_to(bundle)), scratch, env),
        ),
    ]
    gui_exe = exe.with_name("Tern.exe")
    if sys.platform == "win32" and gui_exe.exists():  # the windowed executable runs its own workers too
        steps.append(("Tern.exe (windowed) --self-test", lambda: self_test(gui_exe, env)))

    def window() -> None:
        shot = args.out / "window.png"
        run([str(exe), "gui", "--screenshot", str(shot)], {**env, **display_env()}, timeout=120)
        if not shot.is_file() or shot.stat().st_size < 1000:
            raise SmokeFailed("the window screenshot is missing or empty")
        say(f"  window saved: {shot}")

    steps.append(("the window with the platform's own Qt plugin", window))
    return steps


def display_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Smoke-test the built packages (Linux) or bundle (macOS, Windows)."
    )
    ap.add_argument("--tarball", type=Path, help="Linux: the .tar.gz to unpack and test")
    ap.add_argument("--deb", type=Path, help="Linux: the .deb to unpack and test")
    ap.add_argument("--exe", type=Path, help="macOS/Windows: the bundle's command-line executable")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if not args.exe and not (args.tarball and args.deb):
        ap.error("give --tarball and --deb (Linux) or --exe (a bundle's executable)")
    args.out.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tern-smoke-") as tmp:
        scratch = Path(tmp)
        env = base_env(scratch)
        steps = bundle_steps(args, scratch, env) if args.exe else linux_packages(args, scratch, env)
        try:
            for i, (name, fn) in enumerate(steps, start=1):
                say(f"{i}/{len(steps)} {name}")
                t = time.perf_counter()
                fn()  # type: ignore[operator]
                say(f"    ok ({time.perf_counter() - t:.1f} s)")
        except (SmokeFailed, subprocess.SubprocessError, OSError) as e:
            say(f"FAILED: {e}")
            return 1
    say(f"all {len(steps)} steps passed in {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
