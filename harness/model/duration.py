"""Durations as scenario authors write them: ``2s``, ``500ms``, ``5m``, ``1h``, or a number of seconds."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.errors import ScenarioError
from harness.loader import YNode

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def _seconds(value: Any) -> float | None:
    """The seconds a YAML value names, unchecked (None: not a duration at all)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 10**300 else math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return value
    if isinstance(value, str) and (m := _RE.match(value)):
        return float(m.group(1)) * _UNITS[m.group(2) or "s"]
    return None


class Duration(float):
    """Seconds, parsed from ``2s``/``500ms``/``5m``/``1h`` or a plain number: finite, at most a year."""

    # No scenario waits or jumps longer; and the clock's waits cannot take infinity (nor a
    # timeout past threading.TIMEOUT_MAX), so .inf or 10^30 is a typo to point at, not a hang.
    MAX_SECONDS: ClassVar[float] = 365 * 24 * 3600.0

    @classmethod
    def yaml_expected(cls) -> str:
        return "a duration like 2s, 500ms, 5m or 1h (a bare number means seconds)"

    @classmethod
    def parse_text(cls, value: Any) -> Duration | None:
        seconds = _seconds(value)
        if seconds is None or not 0 <= seconds <= cls.MAX_SECONDS:  # NaN fails both
            return None
        return cls(seconds)

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Duration:
        parsed = cls.parse_text(node.value)
        if parsed is not None:
            return parsed
        seconds = _seconds(node.value)
        if seconds is None:
            problem = f"{node.kind()} is not a duration"
        elif not math.isfinite(seconds):
            problem = f"{node.kind()} is not a finite duration"
        elif seconds < 0:
            problem = f"{node.kind()} is a negative duration"
        else:
            problem = f"{node.value!r} is longer than a year (8760h), the most a scenario may wait or jump"
        raise ScenarioError(node.loc, problem, expected=cls.yaml_expected())

    def __str__(self) -> str:
        seconds = float(self)
        if seconds and seconds < 1:
            return f"{seconds * 1000:g}ms"
        if seconds >= 3600 and seconds % 3600 == 0:
            return f"{seconds / 3600:g}h"
        if seconds >= 60 and seconds % 60 == 0:
            return f"{seconds / 60:g}m"
        return f"{seconds:g}s"


@dataclass(frozen=True)
class WallCap:
    """The most wall-clock time one case's steps may take, and where that figure comes from."""

    seconds: float
    source: str  # "this file's 'timeout: 2m'" or the default and how to raise it

    def exceeded(self) -> str:
        """Why a case that ran past the cap failed (the log's abort reason)."""
        cap = Duration(self.seconds)
        return f"the case ran out of time: its steps ran past the wall-clock cap of {cap} ({self.source})"


class Wait(Duration):
    """A duration that a step waits in wall-clock time (``within``, ``for``): it must fit in the
    case's wall cap, or the wait could never run to its end and the case would fail at the cap."""

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Wait:
        wait = cls(Duration.from_yaml(node))
        cap: WallCap | None = getattr(ctx, "wall_cap", None)
        if cap is not None and wait > cap.seconds:
            raise ScenarioError(
                node.loc,
                f"a wait of {wait} is longer than the case's wall-clock cap of {Duration(cap.seconds)}, "
                "so it could never run to its end",
                suggestion=f"wait less, or raise the cap ({cap.source})",
            )
        return wait
