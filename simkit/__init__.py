"""Shared simulation seams: one clock and one observation log per scenario.

The fake NVML node, the fake kubelet and the harness all take these, so that a
scenario has one time line. This package imports nothing else of ours; the plugin
never imports it (it runs on real time, like any plugin under test).
"""

from simkit.clock import Clock, TimerHandle
from simkit.log import Cursor, Event, ObservationLog, WaitAborted, WaitTimeout
from simkit.pacer import Pacer

__all__ = [
    "Clock",
    "Cursor",
    "Event",
    "ObservationLog",
    "Pacer",
    "TimerHandle",
    "WaitAborted",
    "WaitTimeout",
]
