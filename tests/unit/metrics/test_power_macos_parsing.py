"""macOS readers' parsing against fixtures: IOReport channel names and units, SMC bytes, battery plists.

The OS calls (libIOReport, AppleSMC, IORegistry) cannot run here; what they return is parsed by
the pure functions tested below.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from backend.metrics.power import smc
from backend.metrics.power.base import SourceUnavailable
from backend.metrics.power.ioreport import Channel, component_of, energy_by_component
from backend.metrics.power.mac_battery import MacBatterySource, battery_watts, parse_properties

FIX = Path(__file__).parent / "fixtures"


def channels(name: str) -> list[Channel]:
    data = json.loads((FIX / name).read_text())
    return [Channel(c["name"], c["unit"], c["value"]) for c in data["channels"]]


def test_m2_energy_model_scales_each_channel_by_its_own_unit() -> None:
    parts, skipped = energy_by_component(channels("ioreport_m2_delta.json"))
    assert parts["CPU"] == pytest.approx(1.828)  # only the aggregate, never the clusters again
    assert parts["GPU"] == pytest.approx(0.271087)  # nJ: read as mJ it would be 271 087 J
    assert parts["ANE"] == 0.0
    assert parts["DRAM"] == pytest.approx(0.412)
    assert sum(parts.values()) == pytest.approx(2.511087)
    assert skipped == []  # "Mystery [bananas]" is not an energy aggregate at all


def test_ultra_dies_are_summed_and_unknown_units_skipped_not_guessed() -> None:
    parts, skipped = energy_by_component(channels("ioreport_ultra_delta.json"))
    assert parts["CPU"] == pytest.approx(2.0 + 1.5)
    assert parts["GPU"] == pytest.approx(0.75)
    assert parts["DRAM"] == pytest.approx(0.3)
    assert skipped == ["DRAM1 [kJ]"]


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("CPU Energy", "CPU"),
        ("DIE_1_CPU Energy", "CPU"),
        ("GPU Energy", "GPU"),
        ("ANE0", "ANE"),
        ("DRAM", "DRAM"),
        ("PCPU3", None),
        ("EACC_CPU", None),
        ("GPU SRAM0", None),
        ("ISP", None),
    ],
)
def test_channel_names(name: str, part: str | None) -> None:
    assert component_of(name) == part


def test_channels_of_other_groups_are_ignored() -> None:
    parts, _ = energy_by_component([Channel("CPU Energy", "mJ", 500, group="CPU Stats")])
    assert parts == {}


# --- SMC ------------------------------------------------------------------------------------
# An 80-byte SMCKeyData_t answer to a key-info request for PSTR: dataSize 4 @28, dataType "flt " @32.
KEY_INFO_ANSWER = bytes.fromhex(
    "52545350" + "00" * 24 + "04000000" + "20746c66" + "00" * 4 + "00" + "00" * 39
)


def test_smc_request_layout() -> None:
    req = smc.pack_request("PSTR", smc.CMD_KEY_INFO)
    assert len(req) == 80
    assert req[0:4] == b"RTSP"  # the four-char code as a little-endian u32
    assert req[42] == 9  # data8: kSMCGetKeyInfo
    read = smc.pack_request("PSTR", smc.CMD_READ_KEY, 4, "flt ")
    assert read[28:32] == b"\x04\0\0\0" and read[32:36] == b" tlf" and read[42] == 5


def test_smc_key_info_and_float_value() -> None:
    assert len(KEY_INFO_ANSWER) == 80
    assert smc.parse_key_info(KEY_INFO_ANSWER) == (4, "flt ")
    answer = bytearray(80)
    answer[48:52] = struct.pack("<f", 13.0979)
    assert smc.parse_read(bytes(answer), "flt ", 4) == pytest.approx(13.0979, rel=1e-6)


def test_smc_errors_and_other_types() -> None:
    refused = bytearray(KEY_INFO_ANSWER)
    refused[40] = 132  # kSMCKeyNotFound
    with pytest.raises(ValueError, match="does not exist"):
        smc.parse_key_info(bytes(refused))
    assert smc.decode_value("sp78", bytes([0x2D, 0x80])) == pytest.approx(45.5)
    assert smc.decode_value("fpe2", bytes([0x00, 0x2A])) == pytest.approx(10.5)
    assert smc.decode_value("ui16", bytes([0x01, 0x00])) == 256.0
    with pytest.raises(ValueError):
        smc.decode_value("ch8*", b"abcd")


def test_smc_source_through_a_fake_connection() -> None:
    class Conn:
        def call(self, request: bytes) -> bytes:
            if request[42] == smc.CMD_KEY_INFO:
                return KEY_INFO_ANSWER
            out = bytearray(80)
            out[48:52] = struct.pack("<f", 21.5)
            return bytes(out)

    src = smc.SmcPowerSource(Conn())
    assert src.info.badge == "Measured · whole computer (SMC PSTR)"
    assert src.read() == pytest.approx(21.5)


# --- AppleSmartBattery ----------------------------------------------------------------------
def test_battery_plist_discharging_is_current_times_voltage() -> None:
    props = parse_properties((FIX / "apple_smart_battery.plist").read_bytes())
    assert battery_watts(props) == pytest.approx(1.250 * 12.450)  # InstantAmperage −1250 mA stored unsigned


def test_battery_plist_charging_is_unavailable() -> None:
    props = parse_properties((FIX / "apple_smart_battery_charging.plist").read_bytes())
    with pytest.raises(SourceUnavailable, match="unplug to measure"):
        battery_watts(props)


def test_battery_source_with_fetched_bytes() -> None:
    data = (FIX / "apple_smart_battery.plist").read_bytes()
    src = MacBatterySource(fetch=lambda: data)
    assert src.info.covers == "whole laptop"
    assert src.read() == pytest.approx(15.5625)
    with pytest.raises(ValueError, match="unreadable"):
        parse_properties(b"not a plist")
