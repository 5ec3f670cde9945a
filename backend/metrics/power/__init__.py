"""Power sources, one small module each, behind `PowerSource` (see base.py); probed in order by probe.py."""

from backend.metrics.power.base import PowerSource, SourceInfo, SourceUnavailable

__all__ = ["PowerSource", "SourceInfo", "SourceUnavailable"]
