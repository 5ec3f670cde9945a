"""Windows readers' parsing against byte fixtures: EMI metadata/measurements, SYSTEM_BATTERY_STATE."""

from __future__ import annotations

import pytest

from backend.metrics.power import emi
from backend.metrics.power.base import SourceUnavailable
from backend.metrics.power.win_battery import WindowsBatterySource, parse_battery_state


def w(text: str, size: int | None = None) -> bytes:
    raw = (text + "\0").encode("utf-16-le")
    return raw.ljust(size, b"\0") if size else raw


# EMI_METADATA_V2 as an Intel RAPL energy meter returns it: OEM, model, revision 1, three channels.
NAMES = ["RAPL_Package0_PKG", "RAPL_Package0_PP0", "RAPL_Package0_DRAM"]
METADATA_V2 = (
    w("Intel", 32)
    + w("RAPL_Package0", 32)
    + b"\x01\x00"
    + b"\x03\x00"
    + b"".join(b"\x00\x00\x00\x00" + len(w(n)).to_bytes(2, "little") + w(n) for n in NAMES)
)
METADATA_V1 = (
    b"\x00\x00\x00\x00"
    + w("Qualcomm", 32)
    + w("SDM850", 32)
    + b"\x02\x00"
    + len(w("SoC")).to_bytes(2, "little")
    + w("SoC")
)


def measurement(*pairs: tuple[int, int]) -> bytes:
    return b"".join(e.to_bytes(8, "little") + t.to_bytes(8, "little") for e, t in pairs)


def test_ioctl_codes_match_emi_h() -> None:
    assert emi.IOCTL_EMI_GET_VERSION == 0x224000
    assert emi.IOCTL_EMI_GET_METADATA_SIZE == 0x224004
    assert emi.IOCTL_EMI_GET_METADATA == 0x224008
    assert emi.IOCTL_EMI_GET_MEASUREMENT == 0x22400C


def test_v2_metadata_walks_variable_length_channels() -> None:
    meta = emi.parse_metadata(2, METADATA_V2)
    assert (meta.oem, meta.model, meta.revision) == ("Intel", "RAPL_Package0", 1)
    assert meta.channels == tuple(NAMES)
    assert emi.pick_channels(meta.channels) == ([0], "CPU package")
    assert emi.pick_channels(("RAPL_Package0_PKG", "RAPL_Package0_PSYS")) == ([1], "SoC / platform (psys)")


def test_v1_metadata_has_one_named_channel() -> None:
    meta = emi.parse_metadata(1, METADATA_V1)
    assert meta.channels == ("SoC",) and meta.oem == "Qualcomm"


def test_truncated_or_foreign_metadata_is_refused() -> None:
    with pytest.raises(ValueError, match="past the buffer"):
        emi.parse_metadata(2, METADATA_V2[:-10])
    with pytest.raises(ValueError, match="not supported"):
        emi.parse_metadata(3, METADATA_V2)
    with pytest.raises(ValueError, match="no package"):
        emi.pick_channels(("RAPL_Package0_DRAM",))


def test_measurement_is_picowatt_hours_and_100ns() -> None:
    data = measurement((10**12, 5), (7, 5), (9, 5))
    assert emi.parse_measurement(data, 3) == [(10**12, 5), (7, 5), (9, 5)]
    with pytest.raises(ValueError):
        emi.parse_measurement(data[:40], 3)


def test_emi_source_counts_joules_from_the_package_channel() -> None:
    readings = [
        measurement((1_000_000_000, 0), (0, 0), (0, 0)),
        measurement((1_000_000_000, 0), (0, 0), (0, 0)),
        measurement((4_600_000_000, 10_000_000), (999_999_999, 0), (0, 0)),
    ]

    class Device:
        def ioctl(self, code: int, size: int) -> bytes:
            if code == emi.IOCTL_EMI_GET_VERSION:
                return b"\x02\x00"
            if code == emi.IOCTL_EMI_GET_METADATA_SIZE:
                return len(METADATA_V2).to_bytes(4, "little")
            if code == emi.IOCTL_EMI_GET_METADATA:
                return METADATA_V2
            return readings.pop(0)

    src = emi.EmiSource(Device())
    assert src.info.badge == "Measured · CPU package (RAPL via Windows EMI)"
    assert src.read() == 0.0
    assert src.read() == pytest.approx(3_600_000_000 * 3.6e-9)  # 3.6e9 pWh = 12.96 J; PP0 is not added


def battery_state(ac: int, charging: int, discharging: int, rate_mw: int, present: int = 1) -> bytes:
    return (
        bytes([ac, present, charging, discharging, 0, 0, 0, 0])
        + (50_000).to_bytes(4, "little")
        + (30_000).to_bytes(4, "little")
        + rate_mw.to_bytes(4, "little", signed=True)
        + bytes(12)
    )


def test_battery_discharge_rate() -> None:
    assert parse_battery_state(battery_state(0, 0, 1, -12_345)) == pytest.approx(12.345)
    src = WindowsBatterySource(query=lambda: battery_state(0, 0, 1, -9_000))
    assert src.read() == pytest.approx(9.0) and src.info.covers == "whole laptop"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (battery_state(1, 1, 0, 20_000), "unplug to measure"),
        (battery_state(1, 0, 0, 0), "unplug to measure"),
        (battery_state(0, 0, 1, -0x80000000), "does not report"),
        (battery_state(0, 0, 0, 0, present=0), "no battery"),
    ],
)
def test_battery_unavailable_states(state: bytes, reason: str) -> None:
    with pytest.raises(SourceUnavailable, match=reason):
        parse_battery_state(state)
