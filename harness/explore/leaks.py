"""Leak checks over many runs in one process: threads, file descriptors and resident memory.

After each run (its node, kubelet and plugin torn down) the meter samples the process; growth
per run is the least-squares slope over the runs after a short warm-up (the first runs fill
caches and import modules). A slope above a limit is a leak. Threads of our plugin's health
monitor end up to one event-wait timeout after their plugin stopped, so counts wobble; the
slope over many runs is what stays flat when nothing leaks.
"""

from __future__ import annotations

import gc
import os
import threading
from dataclasses import dataclass, field

WARMUP = 3
MIN_RUNS = 10  # fewer runs say nothing about a slope
LIMITS = {"threads": 0.5, "fds": 0.5, "rss_kib": 1024.0}  # growth per run above which it is a leak
UNITS = {"threads": "threads", "fds": "fds", "rss_kib": "KiB"}


def _rss_kib() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 1024


def sample() -> dict[str, float]:
    gc.collect()
    return {
        "threads": float(threading.active_count()),
        "fds": float(len(os.listdir("/proc/self/fd"))),
        "rss_kib": _rss_kib(),
    }


def slope(values: list[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    var = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / var


@dataclass
class LeakMeter:
    samples: list[dict[str, float]] = field(default_factory=list)

    def after_run(self) -> None:
        self.samples.append(sample())

    def growth(self) -> dict[str, float]:
        """Growth per run of each measure (0 until there are enough runs after the warm-up)."""
        steady = self.samples[WARMUP:]
        if len(steady) < MIN_RUNS:
            return {k: 0.0 for k in LIMITS}
        return {k: slope([s[k] for s in steady]) for k in LIMITS}

    def leaks(self) -> dict[str, float]:
        """The measures that grow faster than their limit."""
        return {k: v for k, v in self.growth().items() if v > LIMITS[k]}

    @property
    def judged(self) -> bool:
        return len(self.samples) - WARMUP >= MIN_RUNS

    def describe(self) -> str:
        if not self.judged:
            return f"leaks: not judged ({len(self.samples)} runs; {WARMUP + MIN_RUNS} needed)"
        growth = self.growth()
        first, last = self.samples[WARMUP], self.samples[-1]
        parts = [
            f"{k.split('_')[0]} {growth[k]:+.2f} {UNITS[k]}/run ({first[k]:.0f} -> {last[k]:.0f})"
            for k in LIMITS
        ]
        return "growth per run: " + ", ".join(parts)
