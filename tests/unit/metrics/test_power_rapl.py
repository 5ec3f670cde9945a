"""RAPL via powercap against fake sysfs trees: zone choice, wraparound, permissions, hot-plug."""

from __future__ import annotations

import pytest

from backend.metrics.power.base import SourceUnavailable
from backend.metrics.power.probe import ProbeContext, platform_candidates, probe
from backend.metrics.power.rapl import RaplSource


def test_sums_packages_skipping_subzones_and_mmio_duplicates(fakesys) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 1_000_000)
    fakesys.rapl_zone("intel-rapl:0:0", "core", 500_000)
    fakesys.rapl_zone("intel-rapl:0:1", "uncore", 100_000)
    fakesys.rapl_zone("intel-rapl:1", "package-1", 2_000_000)
    fakesys.rapl_zone("intel-rapl-mmio:0", "package-0", 1_000_000)  # the same package through MMIO
    src = RaplSource(fakesys.root / "powercap")
    assert src.info.badge == "Measured · CPU package (RAPL)"
    assert src.read() == 0.0
    fakesys.energy("intel-rapl:0", 3_000_000)  # +2 J
    fakesys.energy("intel-rapl:0:0", 9_000_000)  # a subzone is part of the package: not added
    fakesys.energy("intel-rapl:1", 2_500_000)  # +0.5 J
    fakesys.energy("intel-rapl-mmio:0", 9_000_000)  # a duplicate: not added
    assert src.read() == pytest.approx(2.5)


def test_psys_is_preferred_over_packages(fakesys) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 0)
    fakesys.rapl_zone("intel-rapl:1", "psys", 10_000_000)
    src = RaplSource(fakesys.root / "powercap")
    assert "psys" in src.info.covers
    src.read()
    fakesys.energy("intel-rapl:0", 5_000_000)
    fakesys.energy("intel-rapl:1", 17_000_000)
    assert src.read() == pytest.approx(7.0)


def test_wraparound_is_unwrapped_with_max_energy_range(fakesys) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 262_143_000_000, max_uj=262_143_328_850)
    src = RaplSource(fakesys.root / "powercap")
    src.read()
    fakesys.energy("intel-rapl:0", 1_671_150)  # wrapped: 328_850 to the top, then 1_671_150
    assert src.read() == pytest.approx(2.0)
    fakesys.energy("intel-rapl:0", 4_671_150)
    assert src.read() == pytest.approx(5.0)


def test_a_wrap_without_max_range_drops_the_zone_rather_than_inventing_energy(fakesys) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 5_000_000, max_uj=None)
    fakesys.rapl_zone("intel-rapl:1", "package-1", 0)
    src = RaplSource(fakesys.root / "powercap")
    fakesys.energy("intel-rapl:0", 1_000)
    fakesys.energy("intel-rapl:1", 1_000_000)
    assert src.read() == pytest.approx(1.0)
    assert [z.name for z in src.zones.values()] == ["package-1"]


def test_root_only_counters_say_how_an_admin_enables_them(fakesys, deny) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 1)
    with pytest.raises(SourceUnavailable) as e:
        RaplSource(fakesys.root / "powercap", reader=deny(lambda p: p.name == "energy_uj"))
    assert "root" in e.value.reason
    assert "chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj" in e.value.hint
    assert "udev" in e.value.hint


def test_probe_passes_over_root_only_rapl_and_keeps_the_hint(fakesys, deny) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 1)
    fakesys.battery(power_now=9_000_000)
    ctx = ProbeContext(
        sysfs=fakesys.root,
        cpu_name="Intel(R) Core(TM) i7-1165G7",
        reader=deny(lambda p: p.name == "energy_uj"),
    )
    choice = probe(platform_candidates("linux"), ctx, pause_s=0)
    assert choice.source is not None and choice.source.info.key == "battery"
    rapl_rejection = choice.rejected[0]
    assert rapl_rejection.name == "RAPL (powercap)" and "udev" in rapl_rejection.hint
    assert [name for name, _ in choice.remaining] == ["CPU-time estimate"]


def test_permission_lost_while_running_makes_reads_unavailable(fakesys, deny) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 1)
    denied = {"on": False}
    src = RaplSource(fakesys.root / "powercap", reader=deny(lambda p: denied["on"] and p.name == "energy_uj"))
    src.read()
    denied["on"] = True
    with pytest.raises(SourceUnavailable, match="permission denied"):
        src.read()


def test_zones_appearing_count_from_their_first_reading_and_vanishing_ones_stop(fakesys) -> None:
    fakesys.rapl_zone("intel-rapl:0", "package-0", 0)
    src = RaplSource(fakesys.root / "powercap")
    fakesys.energy("intel-rapl:0", 1_000_000)
    assert src.read() == pytest.approx(1.0)
    fakesys.rapl_zone("intel-rapl:1", "package-1", 50_000_000)  # a new package: its past is not ours
    assert src.read() == pytest.approx(1.0)
    fakesys.energy("intel-rapl:1", 52_000_000)
    assert src.read() == pytest.approx(3.0)
    import shutil

    shutil.rmtree(fakesys.root / "powercap/intel-rapl:1")
    fakesys.energy("intel-rapl:0", 1_500_000)
    assert src.read() == pytest.approx(3.5)  # the total never jumps back
    shutil.rmtree(fakesys.root / "powercap/intel-rapl:0")
    with pytest.raises(SourceUnavailable, match="disappeared"):
        src.read()


def test_no_powercap_or_no_package_zone_is_unavailable(fakesys) -> None:
    with pytest.raises(SourceUnavailable, match="no powercap"):
        RaplSource(fakesys.root / "powercap")
    fakesys.rapl_zone("intel-rapl:0:0", "core", 0)
    fakesys.rapl_zone("intel-rapl:1", "dram", 0)
    with pytest.raises(SourceUnavailable, match="no RAPL package"):
        RaplSource(fakesys.root / "powercap")
