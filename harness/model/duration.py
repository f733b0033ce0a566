"""Durations as scenario authors write them: ``2s``, ``500ms``, ``5m``, ``1h``, or a number of seconds."""

from __future__ import annotations

import re
from typing import Any

from harness.errors import ScenarioError
from harness.loader import YNode

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


class Duration(float):
    """Seconds, parsed from ``2s``/``500ms``/``5m``/``1h`` or a plain number."""

    @classmethod
    def yaml_expected(cls) -> str:
        return "a duration like 2s, 500ms, 5m or 1h (a bare number means seconds)"

    @classmethod
    def parse_text(cls, value: Any) -> Duration | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return cls(value) if value >= 0 else None
        if isinstance(value, str) and (m := _RE.match(value)):
            return cls(float(m.group(1)) * _UNITS[m.group(2) or "s"])
        return None

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Duration:
        parsed = cls.parse_text(node.value)
        if parsed is None:
            raise ScenarioError(node.loc, f"{node.kind()} is not a duration", expected=cls.yaml_expected())
        return parsed

    def __str__(self) -> str:
        seconds = float(self)
        if seconds and seconds < 1:
            return f"{seconds * 1000:g}ms"
        if seconds >= 60 and seconds % 60 == 0:
            return f"{seconds / 60:g}m"
        return f"{seconds:g}s"
