"""hwmon energy counters, amdgpu PPT and Linux batteries against fake sysfs trees (units, states)."""

from __future__ import annotations

import pytest

from backend.metrics.power.base import SourceUnavailable
from backend.metrics.power.battery_linux import LinuxBatterySource
from backend.metrics.power.hwmon import AmdgpuPptSource, HwmonEnergySource

APU = "AMD Ryzen 7 5800U with Radeon Graphics"


def test_hwmon_sums_socket_counters_in_microjoules_not_the_per_core_parts(fakesys) -> None:
    fakesys.write("hwmon/hwmon3/name", "amd_energy")
    fakesys.write("hwmon/hwmon3/energy1_label", "Ecore000")
    fakesys.write("hwmon/hwmon3/energy1_input", 100)
    fakesys.write("hwmon/hwmon3/energy2_label", "Ecore001")
    fakesys.write("hwmon/hwmon3/energy2_input", 100)
    fakesys.write("hwmon/hwmon3/energy17_label", "Esocket0")
    fakesys.write("hwmon/hwmon3/energy17_input", 7_000_000)
    fakesys.write("hwmon/hwmon0/name", "k10temp")
    fakesys.write("hwmon/hwmon0/temp1_input", 45000)
    src = HwmonEnergySource(fakesys.root / "hwmon")
    assert src.info.badge == "Measured · CPU package (hwmon amd_energy)"
    assert src.read() == 0.0
    fakesys.write("hwmon/hwmon3/energy1_input", 9_000_000)  # a core: part of the socket, not added
    fakesys.write("hwmon/hwmon3/energy17_input", 10_500_000)
    assert src.read() == pytest.approx(3.5)


def test_hwmon_without_energy_counters_is_unavailable(fakesys) -> None:
    fakesys.write("hwmon/hwmon0/name", "nvme")
    fakesys.write("hwmon/hwmon0/temp1_input", 40000)
    with pytest.raises(SourceUnavailable, match="socket energy counter"):
        HwmonEnergySource(fakesys.root / "hwmon")


def test_amdgpu_ppt_is_microwatts_and_only_for_an_apu(fakesys) -> None:
    fakesys.write("hwmon/hwmon5/name", "amdgpu")
    fakesys.write("hwmon/hwmon5/power1_average", 12_345_000)
    src = AmdgpuPptSource(fakesys.root / "hwmon", cpu_name=APU)
    assert src.info.kind == "instant" and src.info.covers == "APU package"
    assert src.read() == pytest.approx(12.345)
    with pytest.raises(SourceUnavailable, match="discrete graphics card"):
        AmdgpuPptSource(fakesys.root / "hwmon", cpu_name="Intel(R) Core(TM) i7-8700K")


def test_amdgpu_power1_input_is_used_when_there_is_no_average(fakesys) -> None:
    fakesys.write("hwmon/hwmon5/name", "amdgpu")
    fakesys.write("hwmon/hwmon5/power1_input", 4_500_000)
    assert AmdgpuPptSource(fakesys.root / "hwmon", cpu_name=APU).read() == pytest.approx(4.5)


def test_battery_power_now_in_microwatts_while_discharging(fakesys) -> None:
    fakesys.battery(power_now=11_250_000)
    src = LinuxBatterySource(fakesys.root / "power_supply")
    assert src.info.badge == "Measured · whole laptop (battery, ~5 s average)"
    assert src.read() == pytest.approx(11.25)


def test_battery_current_times_voltage_when_there_is_no_power_now(fakesys) -> None:
    fakesys.battery(current_now=1_500_000, voltage_now=11_400_000)  # 1.5 A × 11.4 V
    assert LinuxBatterySource(fakesys.root / "power_supply").read() == pytest.approx(17.1)


@pytest.mark.parametrize("status", ["Charging", "Full", "Not charging"])
def test_battery_on_mains_power_is_unavailable_and_says_unplug(fakesys, status: str) -> None:
    fakesys.battery(status=status, power_now=20_000_000)
    src = LinuxBatterySource(fakesys.root / "power_supply")
    with pytest.raises(SourceUnavailable, match="unplug to measure"):
        src.read()


def test_two_batteries_one_idle_count_the_discharging_one(fakesys) -> None:
    fakesys.battery("BAT0", status="Discharging", power_now=8_000_000)
    fakesys.battery("BAT1", status="Not charging", power_now=0)
    fakesys.write("power_supply/AC/type", "Mains")
    src = LinuxBatterySource(fakesys.root / "power_supply")
    assert src.read() == pytest.approx(8.0)
    fakesys.battery("BAT1", status="Charging", power_now=3_000_000)
    with pytest.raises(SourceUnavailable, match="BAT1: charging"):
        src.read()


def test_no_battery(fakesys) -> None:
    fakesys.write("power_supply/AC/type", "Mains")
    with pytest.raises(SourceUnavailable, match="no battery"):
        LinuxBatterySource(fakesys.root / "power_supply")
