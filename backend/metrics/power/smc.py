"""macOS: whole-computer power from the SMC key `PSTR` (system total, watts) — no sudo needed.

The AppleSMC user client takes an 80-byte `SMCKeyData_t` both ways. Packing the request and
decoding the answer are pure functions over bytes (tested with fixtures); `_SmcConnection`
only opens the service and passes the buffers through IOConnectCallStructMethod.

SMCKeyData_t layout (C alignment): key u32 @0, vers 6 bytes @4, pLimitData 16 bytes @12,
keyInfo {dataSize u32 @28, dataType u32 @32, dataAttributes u8 @36}, result u8 @40,
status u8 @41, data8 u8 @42, data32 u32 @44, bytes[32] @48 — 80 bytes.
"""

from __future__ import annotations

import ctypes
import math
import struct
import sys

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable

SIZE = 80
SELECTOR = 2  # kSMCHandleYPCEvent
CMD_READ_KEY = 5
CMD_KEY_INFO = 9


def fourcc(code: str) -> int:
    raw = code.encode("ascii")
    if len(raw) != 4:
        raise ValueError(f"an SMC key is four characters, not {code!r}")
    return int.from_bytes(raw, "big")


def pack_request(key: str, command: int, data_size: int = 0, data_type: str = "\0\0\0\0") -> bytes:
    buf = bytearray(SIZE)
    struct.pack_into("<I", buf, 0, fourcc(key))
    struct.pack_into("<II", buf, 28, data_size, fourcc(data_type))
    buf[42] = command
    return bytes(buf)


def parse_key_info(out: bytes) -> tuple[int, str]:
    """(data size, data type) from a CMD_KEY_INFO answer; ValueError if the SMC refused."""
    if len(out) < SIZE:
        raise ValueError(f"SMC answer is {len(out)} bytes, expected {SIZE}")
    if out[40] != 0:
        raise ValueError(f"SMC error {out[40]} (the key does not exist on this Mac)")
    size, dtype = struct.unpack_from("<II", out, 28)
    return size, dtype.to_bytes(4, "big").decode("ascii", "replace")


def decode_value(data_type: str, data: bytes) -> float:
    """An SMC value as a number: `flt ` (little-endian float32 on Apple silicon), fixed-point, integers."""
    if data_type == "flt " and len(data) >= 4:
        return struct.unpack("<f", data[:4])[0]
    if data_type == "sp78" and len(data) >= 2:
        return struct.unpack(">h", data[:2])[0] / 256.0
    if data_type == "fpe2" and len(data) >= 2:
        return struct.unpack(">H", data[:2])[0] / 4.0
    sizes = {"ui8 ": 1, "ui16": 2, "ui32": 4}
    if data_type in sizes and len(data) >= sizes[data_type]:
        return float(int.from_bytes(data[: sizes[data_type]], "big"))
    raise ValueError(f"SMC data type {data_type!r} is not a number Tern can read")


def parse_read(out: bytes, data_type: str, data_size: int) -> float:
    if len(out) < SIZE:
        raise ValueError(f"SMC answer is {len(out)} bytes, expected {SIZE}")
    if out[40] != 0:
        raise ValueError(f"SMC error {out[40]} reading the key")
    return decode_value(data_type, out[48 : 48 + data_size])


class SmcPowerSource(PowerSource):
    """System total power (W) from SMC `PSTR`."""

    KEY = "PSTR"

    def __init__(self, connection: object | None = None) -> None:
        if connection is None and sys.platform != "darwin":
            raise SourceUnavailable("the SMC exists only on a Mac")
        try:
            self.conn = connection or _SmcConnection()
            self.size, self.dtype = parse_key_info(self.conn.call(pack_request(self.KEY, CMD_KEY_INFO)))
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"SMC key {self.KEY} cannot be read here: {e}") from None
        self.info = SourceInfo(
            key="smc",
            kind="instant",
            measured=True,
            covers="whole computer",
            method="SMC PSTR",
            resolution_s=1.0,
            explanation=(
                "The System Management Controller's total system power (key PSTR): what the whole Mac draws, "
                "screen included, measured by its power rails — the figure a skeptic would compare "
                "with a wall "
                "meter. It is updated about once a second."
            ),
        )

    def read(self) -> float:
        try:
            watts = parse_read(
                self.conn.call(pack_request(self.KEY, CMD_READ_KEY, self.size, self.dtype)),
                self.dtype,
                self.size,
            )
        except (OSError, ValueError) as e:
            raise SourceUnavailable(f"SMC key {self.KEY} stopped answering: {e}") from None
        if not math.isfinite(watts) or watts < 0:
            raise SourceUnavailable(f"SMC key {self.KEY} gave an impossible value ({watts})")
        return watts

    def close(self) -> None:
        close = getattr(self.conn, "close", None)
        if close:
            close()


class _SmcConnection:
    """IOServiceOpen("AppleSMC") and IOConnectCallStructMethod — the only OS calls here."""

    def __init__(self) -> None:
        c = ctypes
        self.iokit = c.CDLL("/System/Library/Frameworks/IOKit.framework/IOKit")
        libc = c.CDLL("/usr/lib/libSystem.B.dylib")
        io = self.iokit
        io.IOServiceMatching.restype, io.IOServiceMatching.argtypes = c.c_void_p, [c.c_char_p]
        io.IOServiceGetMatchingService.restype = c.c_uint32
        io.IOServiceGetMatchingService.argtypes = [c.c_uint32, c.c_void_p]
        io.IOServiceOpen.argtypes = [c.c_uint32, c.c_uint32, c.c_uint32, c.POINTER(c.c_uint32)]
        io.IOConnectCallStructMethod.argtypes = [
            c.c_uint32,
            c.c_uint32,
            c.c_void_p,
            c.c_size_t,
            c.c_void_p,
            c.POINTER(c.c_size_t),
        ]
        service = io.IOServiceGetMatchingService(0, io.IOServiceMatching(b"AppleSMC"))
        if not service:
            raise OSError("no AppleSMC service")
        self.conn = c.c_uint32()
        task = c.c_uint32.in_dll(libc, "mach_task_self_").value
        rc = io.IOServiceOpen(service, task, 0, c.byref(self.conn))
        io.IOObjectRelease(service)
        if rc != 0:
            raise OSError(f"IOServiceOpen(AppleSMC) returned {rc:#x}")

    def call(self, request: bytes) -> bytes:
        inp = ctypes.create_string_buffer(request, SIZE)
        out = ctypes.create_string_buffer(SIZE)
        size = ctypes.c_size_t(SIZE)
        rc = self.iokit.IOConnectCallStructMethod(self.conn, SELECTOR, inp, SIZE, out, ctypes.byref(size))
        if rc != 0:
            raise OSError(f"IOConnectCallStructMethod returned {rc:#x}")
        return out.raw

    def close(self) -> None:
        if self.conn:
            self.iokit.IOServiceClose(self.conn)
            self.conn = ctypes.c_uint32(0)
