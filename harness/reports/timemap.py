"""Scenario time and display time: what the pictures cut out so that a timeline stays readable.

Two kinds of stretch are drawn narrow: virtual-time jumps (``advance: 5m`` would otherwise be
the whole picture) and quiet stretches in which nothing at all happened (a failed ``within:
2s`` wait would otherwise squeeze everything else into the first pixels). Both are marked
where they are cut, and the axis labels show scenario time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from harness.result import StepResult

BREAK_S = 0.05  # how much display time a virtual-time jump takes
QUIET_MIN_S = 0.25  # a stretch without any event longer than this (and than a share of the run) ...
QUIET_SHARE = 0.15
QUIET_KEEP_S = 0.03  # ... is drawn this wide, marked as a quiet stretch


@dataclass(frozen=True)
class Cut:
    """A stretch of scenario time drawn narrower: a virtual-time jump, or a quiet stretch."""

    start: float  # scenario time where it begins
    length: float  # scenario seconds it spans
    keep: float  # display seconds it still takes
    kind: str  # "jump" (advance) or "quiet" (no event at all)


class TimeMap:
    """Scenario time ↔ display time, with the cuts taken out."""

    def __init__(self, cuts: list[Cut]) -> None:
        self.cuts = sorted(cuts, key=lambda c: c.start)

    def display(self, t: float) -> float:
        shift = 0.0
        for c in self.cuts:
            if t >= c.start + c.length:
                shift += c.length - c.keep
            elif t > c.start:
                return c.start - shift + c.keep * (t - c.start) / c.length
            else:
                break
        return max(0.0, t - shift)

    def scenario(self, d: float) -> float:
        shift = 0.0
        for c in self.cuts:
            start = c.start - shift
            if d >= start + c.keep:
                shift += c.length - c.keep
            elif d > start:
                return c.start + (d - start) * c.length / c.keep
            else:
                break
        return d + shift


def cuts(events: list[dict[str, Any]], steps: list[StepResult]) -> list[Cut]:
    """The virtual-time jumps, and the long stretches in which nothing at all happened."""
    jumps = [
        Cut(e["t"], float(e["data"]["seconds"]), BREAK_S, "jump")
        for e in events
        if e["source"] == "harness" and e["kind"] == "advance" and float(e["data"]["seconds"]) > 0
    ]
    times = sorted({e["t"] for e in events} | {s.t_start for s in steps} | {s.t_end for s in steps})
    if len(times) < 2:
        return jumps
    busy = times[-1] - times[0] - sum(j.length for j in jumps)
    quiet = []
    for a, b in itertools.pairwise(times):
        if any(a < j.start + j.length and b > j.start for j in jumps):
            continue  # the jump itself
        gap = b - a
        if gap > QUIET_MIN_S and gap > QUIET_SHARE * busy:
            margin = QUIET_KEEP_S
            quiet.append(Cut(a + margin, gap - 2 * margin, QUIET_KEEP_S, "quiet"))
    return jumps + quiet


def fmt_time(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes:.0f}m{rest:05.2f}s"


def fmt_length(seconds: float) -> str:
    """A length of time as people say it: 5m, 1m01s, 30s, 442ms."""
    if seconds >= 60 and abs(seconds - round(seconds)) < 0.05:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m" + (f"{rest:02d}s" if rest else "")
    return fmt_time(seconds)
