"""Windows: RAPL energy through the Energy Meter Interface (EMI) — no administrator rights needed.

Windows 10 1809+ exposes the CPU's energy counters as "energy meter" devices
(GUID_DEVICE_ENERGY_METER). IOCTL_EMI_GET_VERSION / _METADATA_SIZE / _METADATA describe the
channels; IOCTL_EMI_GET_MEASUREMENT returns, per channel, {AbsoluteEnergy u64 in picowatt-hours,
AbsoluteTime u64 in 100 ns}. The structure parsing below is pure and tested on byte fixtures;
`_EmiDevice` only finds the device and issues the IOCTLs.

Layouts (emi.h): EMI_METADATA_V1 = {Unit u32, HardwareOEM wchar[16], HardwareModel wchar[16],
HardwareRevision u16, MeteredHardwareNameSize u16, MeteredHardwareName wchar[]} (name at 72);
EMI_METADATA_V2 = {HardwareOEM wchar[16], HardwareModel wchar[16], HardwareRevision u16,
ChannelCount u16, Channels[]} (channels at 68), each EMI_CHANNEL_V2 = {Unit u32,
ChannelNameSize u16 (bytes, with the terminator), ChannelName wchar[]} and the next channel
right after the name (EMI_CHANNEL_V2_NEXT_CHANNEL).
"""

from __future__ import annotations

import ctypes
import struct
import sys
from dataclasses import dataclass

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable


def ctl_code(device_type: int, function: int, method: int = 0, access: int = 1) -> int:
    return (device_type << 16) | (access << 14) | (function << 2) | method


FILE_DEVICE_UNKNOWN = 0x22
IOCTL_EMI_GET_VERSION = ctl_code(FILE_DEVICE_UNKNOWN, 0)
IOCTL_EMI_GET_METADATA_SIZE = ctl_code(FILE_DEVICE_UNKNOWN, 1)
IOCTL_EMI_GET_METADATA = ctl_code(FILE_DEVICE_UNKNOWN, 2)
IOCTL_EMI_GET_MEASUREMENT = ctl_code(FILE_DEVICE_UNKNOWN, 3)
GUID_DEVICE_ENERGY_METER = "{45BD8344-7ED6-49CF-A440-C276C933B053}"
PWH_TO_J = 3.6e-9  # 1 pWh = 1e-12 W × 3600 s
UNIT_PICOWATT_HOURS = 0


@dataclass(frozen=True)
class EmiMetadata:
    version: int
    oem: str
    model: str
    revision: int
    channels: tuple[str, ...]


def _wstr(raw: bytes) -> str:
    return raw.decode("utf-16-le", "replace").split("\0", 1)[0]


def parse_version(data: bytes) -> int:
    if len(data) < 2:
        raise ValueError("EMI_VERSION answer is too short")
    return struct.unpack_from("<H", data)[0]


def parse_metadata(version: int, data: bytes) -> EmiMetadata:
    if version == 1:
        if len(data) < 72:
            raise ValueError(f"EMI_METADATA_V1 is {len(data)} bytes, shorter than its 72-byte header")
        (unit,) = struct.unpack_from("<I", data, 0)
        if unit != UNIT_PICOWATT_HOURS:
            raise ValueError(f"EMI unit {unit} is not picowatt-hours")
        rev, name_size = struct.unpack_from("<HH", data, 68)
        if 72 + name_size > len(data):
            raise ValueError("EMI_METADATA_V1 name runs past the buffer")
        return EmiMetadata(1, _wstr(data[4:36]), _wstr(data[36:68]), rev, (_wstr(data[72 : 72 + name_size]),))
    if version == 2:
        if len(data) < 68:
            raise ValueError(f"EMI_METADATA_V2 is {len(data)} bytes, shorter than its 68-byte header")
        rev, count = struct.unpack_from("<HH", data, 64)
        names, off = [], 68
        for i in range(count):
            if off + 6 > len(data):
                raise ValueError(f"EMI channel {i} of {count} starts past the buffer")
            unit, size = struct.unpack_from("<IH", data, off)
            if unit != UNIT_PICOWATT_HOURS:
                raise ValueError(f"EMI channel {i} unit {unit} is not picowatt-hours")
            if off + 6 + size > len(data):
                raise ValueError(f"EMI channel {i}'s name runs past the buffer")
            names.append(_wstr(data[off + 6 : off + 6 + size]))
            off += 6 + size  # EMI_CHANNEL_V2_NEXT_CHANNEL
        return EmiMetadata(2, _wstr(data[0:32]), _wstr(data[32:64]), rev, tuple(names))
    raise ValueError(f"EMI version {version} is not supported")


def parse_measurement(data: bytes, n_channels: int) -> list[tuple[int, int]]:
    """[(AbsoluteEnergy pWh, AbsoluteTime 100 ns)] per channel."""
    if len(data) < 16 * n_channels:
        raise ValueError(f"EMI measurement is {len(data)} bytes, expected {16 * n_channels}")
    return [struct.unpack_from("<QQ", data, 16 * i) for i in range(n_channels)]


def pick_channels(names: tuple[str, ...]) -> tuple[list[int], str]:
    """Which channels to sum and what they cover: PSYS (platform) if present, else each package's PKG."""
    upper = [n.upper() for n in names]
    psys = [i for i, n in enumerate(upper) if n.endswith("_PSYS")]
    if psys:
        return psys, "SoC / platform (psys)"
    pkg = [i for i, n in enumerate(upper) if n.endswith("_PKG")]
    if pkg:
        return pkg, "CPU package"
    raise ValueError("no package or platform channel among: " + ", ".join(names))


class EmiSource(PowerSource):
    """Cumulative joules from the EMI RAPL channels (counter)."""

    def __init__(self, device: object | None = None) -> None:
        if device is None and sys.platform != "win32":
            raise SourceUnavailable("the Energy Meter Interface exists only on Windows")
        try:
            self.dev = device or _EmiDevice.open_first()
            version = parse_version(self.dev.ioctl(IOCTL_EMI_GET_VERSION, 2))
            (size,) = struct.unpack("<I", self.dev.ioctl(IOCTL_EMI_GET_METADATA_SIZE, 4)[:4])
            self.meta = parse_metadata(version, self.dev.ioctl(IOCTL_EMI_GET_METADATA, size))
            self.indices, covers = pick_channels(self.meta.channels)
        except (OSError, ValueError, struct.error) as e:
            raise SourceUnavailable(f"no usable Windows energy meter: {e}") from None
        self.last: list[int] | None = None
        self.total_j = 0.0
        self.read()
        chosen = ", ".join(self.meta.channels[i] for i in self.indices)
        self.info = SourceInfo(
            key="emi",
            kind="counter",
            measured=True,
            covers=covers,
            method="RAPL via Windows EMI",
            resolution_s=0.05,
            explanation=(
                f"The processor's RAPL energy counters as Windows' Energy Meter Interface exposes them "
                f"({self.meta.oem} {self.meta.model}, channel {chosen}, in picowatt-hours). A "
                "package channel "
                "covers the cores, caches and integrated graphics — not the screen, RAM chips or "
                "the rest of the "
                "laptop."
            ),
            details=self.meta.channels,
        )

    def read(self) -> float:
        try:
            values = parse_measurement(
                self.dev.ioctl(IOCTL_EMI_GET_MEASUREMENT, 16 * len(self.meta.channels)),
                len(self.meta.channels),
            )
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"the energy meter stopped answering: {e}") from None
        energy = [values[i][0] for i in self.indices]
        if self.last is not None:
            for before, now in zip(self.last, energy, strict=True):
                if now >= before:  # 64-bit pWh counters do not wrap in practice; a drop is a reset
                    self.total_j += (now - before) * PWH_TO_J
        self.last = energy
        return self.total_j

    def close(self) -> None:
        close = getattr(self.dev, "close", None)
        if close:
            close()


class _EmiDevice:
    """SetupAPI enumeration of energy meter devices, CreateFileW and DeviceIoControl (Windows only)."""

    def __init__(self, path: str) -> None:
        from ctypes import wintypes

        k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        k32.CreateFileW.restype = wintypes.HANDLE
        self.k32 = k32
        self.handle = k32.CreateFileW(path, 0x80000000, 0x3, None, 3, 0, None)  # GENERIC_READ, share rw
        if self.handle in (None, wintypes.HANDLE(-1).value):
            raise OSError(f"cannot open energy meter {path}: error {ctypes.get_last_error()}")

    @classmethod
    def open_first(cls) -> _EmiDevice:
        paths = _device_paths(GUID_DEVICE_ENERGY_METER)
        if not paths:
            raise OSError("this PC exposes no energy meter device")
        return cls(paths[0])

    def ioctl(self, code: int, out_size: int) -> bytes:
        from ctypes import wintypes

        out = ctypes.create_string_buffer(max(out_size, 1))
        got = wintypes.DWORD()
        if not self.k32.DeviceIoControl(self.handle, code, None, 0, out, out_size, ctypes.byref(got), None):
            raise OSError(f"DeviceIoControl({code:#x}) failed: error {ctypes.get_last_error()}")
        return out.raw[: got.value]

    def close(self) -> None:
        if self.handle:
            self.k32.CloseHandle(self.handle)
            self.handle = None


def _device_paths(guid_text: str) -> list[str]:
    """Device interface paths of one interface class (SetupDiGetClassDevsW and
    SetupDiGetDeviceInterfaceDetailW)."""
    import uuid
    from ctypes import wintypes

    class GUID(ctypes.Structure):
        _fields_ = [
            ("d1", wintypes.DWORD),
            ("d2", wintypes.WORD),
            ("d3", wintypes.WORD),
            ("d4", ctypes.c_ubyte * 8),
        ]

    class IfaceData(ctypes.Structure):
        _fields_ = [
            ("cbSize", wintypes.DWORD),
            ("guid", GUID),
            ("flags", wintypes.DWORD),
            ("reserved", ctypes.c_void_p),
        ]

    u = uuid.UUID(guid_text)
    guid = GUID(u.fields[0], u.fields[1], u.fields[2], (ctypes.c_ubyte * 8)(*u.bytes[8:]))
    sa = ctypes.WinDLL("setupapi", use_last_error=True)  # type: ignore[attr-defined]
    sa.SetupDiGetClassDevsW.restype = ctypes.c_void_p
    info = sa.SetupDiGetClassDevsW(
        ctypes.byref(guid), None, None, 0x12
    )  # DIGCF_PRESENT | DIGCF_DEVICEINTERFACE
    paths: list[str] = []
    try:
        i = 0
        while True:
            iface = IfaceData()
            iface.cbSize = ctypes.sizeof(IfaceData)
            if not sa.SetupDiEnumDeviceInterfaces(
                ctypes.c_void_p(info), None, ctypes.byref(guid), i, ctypes.byref(iface)
            ):
                break
            need = wintypes.DWORD()
            sa.SetupDiGetDeviceInterfaceDetailW(
                ctypes.c_void_p(info), ctypes.byref(iface), None, 0, ctypes.byref(need), None
            )
            buf = ctypes.create_string_buffer(need.value)
            struct.pack_into(
                "<I", buf, 0, 8 if ctypes.sizeof(ctypes.c_void_p) == 8 else 6
            )  # cbSize of the detail
            if sa.SetupDiGetDeviceInterfaceDetailW(
                ctypes.c_void_p(info), ctypes.byref(iface), buf, need, None, None
            ):
                paths.append(buf.raw[4:].decode("utf-16-le").split("\0", 1)[0])
            i += 1
    finally:
        sa.SetupDiDestroyDeviceInfoList(ctypes.c_void_p(info))
    return paths
