"""macOS (Apple silicon): SoC energy from IOReport's "Energy Model" channels — no sudo needed.

libIOReport is private; we reach it with ctypes. The OS part (`IOReportSource`) is thin: it
subscribes once, takes a sample per read, asks IOReport for the delta since the previous one
and hands (channel name, unit label, integer value) tuples to `energy_by_component`, a pure
function tested against recorded channel lists. Units differ per channel and per chip (on an
M2 "GPU Energy" is in nJ while CPU/ANE/DRAM are in mJ), so every channel is scaled by its own
label and a channel with an unknown unit is skipped, never guessed.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable

UNIT_JOULES = {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "μJ": 1e-6, "nJ": 1e-9}
COMPONENTS = ("CPU", "GPU", "ANE", "DRAM")


@dataclass(frozen=True)
class Channel:
    name: str
    unit: str
    value: int
    group: str = "Energy Model"


def component_of(name: str) -> str | None:
    """Which SoC part an Energy Model channel totals; None for per-core/per-cluster parts of a total.

    Aggregates are named "CPU Energy", "GPU Energy" (with a "DIE_N_" prefix on Ultra chips),
    "ANE…" and "DRAM…"; cluster and core channels ("ECPU0", "PCPU3", "EACC_CPU", "GPU SRAM…")
    are parts of those and must not be added again.
    """
    n = name.strip()
    if "SRAM" in n:
        return None
    if n.endswith("CPU Energy"):
        return "CPU"
    if n.endswith("GPU Energy"):
        return "GPU"
    if n.startswith(("ANE", "DIE_0_ANE", "DIE_1_ANE")) or n.endswith("ANE Energy"):
        return "ANE"
    if n.startswith("DRAM") or "_DRAM" in n:
        return "DRAM"
    return None


def energy_by_component(channels: Iterable[Channel]) -> tuple[dict[str, float], list[str]]:
    """Joules per SoC part over one delta sample, and the channels skipped for an unknown unit."""
    parts: dict[str, float] = {}
    skipped: list[str] = []
    for ch in channels:
        if ch.group != "Energy Model":
            continue
        part = component_of(ch.name)
        if part is None:
            continue
        scale = UNIT_JOULES.get(ch.unit.strip())
        if scale is None:
            skipped.append(f"{ch.name} [{ch.unit}]")
            continue
        if ch.value < 0:
            skipped.append(f"{ch.name} (negative delta)")
            continue
        parts[part] = parts.get(part, 0.0) + ch.value * scale
    return parts, skipped


class IOReportSource(PowerSource):
    """Cumulative SoC energy (CPU+GPU+ANE+DRAM) from IOReport sample deltas."""

    def __init__(self) -> None:
        if sys.platform != "darwin":
            raise SourceUnavailable("IOReport exists only on macOS")
        try:
            self._api = _IOReportApi()
        except OSError as e:
            raise SourceUnavailable(f"IOReport could not be opened: {e}") from None
        self.total_j = 0.0
        self.parts_seen: set[str] = set()
        self._consume(self._api.delta())  # also checks that the Energy Model group has channels
        self.info = SourceInfo(
            key="ioreport",
            kind="counter",
            measured=True,
            covers="SoC (CPU+GPU+ANE+DRAM)",
            method="IOReport",
            resolution_s=0.05,
            explanation=(
                "Apple silicon's own energy model, read through IOReport's \"Energy Model\" "
                "channels (the source "
                "powermetrics uses), without administrator rights. It sums the CPU clusters, GPU, "
                "Neural Engine "
                "and DRAM; it does not count the screen, SSD or the rest of the Mac. Compare with "
                "`sudo powermetrics --samplers cpu_power`."
            ),
        )

    def _consume(self, channels: list[Channel]) -> None:
        parts, _ = energy_by_component(channels)
        if not parts and not self.parts_seen:
            raise SourceUnavailable("IOReport has no Energy Model channels here (a virtual machine?)")
        self.parts_seen |= set(parts)
        self.total_j += sum(parts.values())

    def read(self) -> float:
        try:
            self._consume(self._api.delta())
        except OSError as e:
            raise SourceUnavailable(f"IOReport stopped answering: {e}") from None
        return self.total_j

    def close(self) -> None:
        self._api.close()


class _IOReportApi:
    """The ctypes calls, and nothing else (runs only on macOS)."""

    UTF8 = 0x08000100

    def __init__(self) -> None:
        c = ctypes
        self.cf = c.CDLL("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation")
        self.ir = c.CDLL("/usr/lib/libIOReport.dylib")
        cf, ir, vp = self.cf, self.ir, c.c_void_p
        cf.CFStringCreateWithCString.restype, cf.CFStringCreateWithCString.argtypes = (
            vp,
            [vp, c.c_char_p, c.c_uint32],
        )
        cf.CFStringGetCString.restype = c.c_bool
        cf.CFStringGetCString.argtypes = [vp, c.c_char_p, c.c_long, c.c_uint32]
        cf.CFDictionaryGetValue.restype, cf.CFDictionaryGetValue.argtypes = vp, [vp, vp]
        cf.CFArrayGetCount.restype, cf.CFArrayGetCount.argtypes = c.c_long, [vp]
        cf.CFArrayGetValueAtIndex.restype, cf.CFArrayGetValueAtIndex.argtypes = vp, [vp, c.c_long]
        cf.CFRelease.argtypes = [vp]
        for name, res, args in [
            ("IOReportCopyChannelsInGroup", vp, [vp, vp, c.c_uint64, c.c_uint64, c.c_uint64]),
            ("IOReportCreateSubscription", vp, [vp, vp, c.POINTER(vp), c.c_uint64, vp]),
            ("IOReportCreateSamples", vp, [vp, vp, vp]),
            ("IOReportCreateSamplesDelta", vp, [vp, vp, vp]),
            ("IOReportChannelGetGroup", vp, [vp]),
            ("IOReportChannelGetChannelName", vp, [vp]),
            ("IOReportChannelGetUnitLabel", vp, [vp]),
            ("IOReportSimpleGetIntegerValue", c.c_int64, [vp, c.c_int32]),
        ]:
            fn = getattr(ir, name)
            fn.restype, fn.argtypes = res, args
        group = self._cfstr("Energy Model")
        self.channels = ir.IOReportCopyChannelsInGroup(group, None, 0, 0, 0)
        cf.CFRelease(group)
        if not self.channels:
            raise OSError("no Energy Model channel group")
        self.subbed = vp()
        self.sub = ir.IOReportCreateSubscription(None, self.channels, c.byref(self.subbed), 0, None)
        if not self.sub:
            raise OSError("IOReport refused the subscription")
        self.key = self._cfstr("IOReportChannels")
        self.prev = ir.IOReportCreateSamples(self.sub, self.subbed, None)

    def _cfstr(self, s: str) -> int:
        return self.cf.CFStringCreateWithCString(None, s.encode(), self.UTF8)

    def _str(self, ref: int | None) -> str:
        if not ref:
            return ""
        buf = ctypes.create_string_buffer(256)
        return buf.value.decode() if self.cf.CFStringGetCString(ref, buf, 256, self.UTF8) else ""

    def delta(self) -> list[Channel]:
        cur = self.ir.IOReportCreateSamples(self.sub, self.subbed, None)
        if not cur:
            raise OSError("IOReportCreateSamples failed")
        delta = self.ir.IOReportCreateSamplesDelta(self.prev, cur, None)
        self.cf.CFRelease(self.prev)
        self.prev = cur
        if not delta:
            raise OSError("IOReportCreateSamplesDelta failed")
        try:
            arr = self.cf.CFDictionaryGetValue(delta, self.key)
            out = []
            for i in range(self.cf.CFArrayGetCount(arr) if arr else 0):
                ch = self.cf.CFArrayGetValueAtIndex(arr, i)
                out.append(
                    Channel(
                        self._str(self.ir.IOReportChannelGetChannelName(ch)),
                        self._str(self.ir.IOReportChannelGetUnitLabel(ch)),
                        int(self.ir.IOReportSimpleGetIntegerValue(ch, 0)),
                        self._str(self.ir.IOReportChannelGetGroup(ch)),
                    )
                )
            return out
        finally:
            self.cf.CFRelease(delta)

    def close(self) -> None:
        for ref in (self.prev, self.channels, self.key):
            if ref:
                self.cf.CFRelease(ref)
        self.prev = self.channels = self.key = None
