"""Whole numbers with a range, for fields where a negative or huge value is always a mistake.

Why types rather than checks in each step: YAML integers are unbounded, so ``gpus: -2`` or an
XID of 2^70 would parse as ``int`` and fail (or silently do nothing) halfway through a run.
A field typed :class:`Natural` or :class:`Xid` says its range once, in the schema, and the
reference table in ``docs/scenarios.md`` shows it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from harness.errors import ScenarioError
from harness.loader import YNode


class Natural(int):
    """A whole number from ``LOW`` to ``HIGH`` (both included)."""

    LOW: ClassVar[int] = 0
    HIGH: ClassVar[int | None] = None

    @classmethod
    def yaml_expected(cls) -> str:
        if cls.HIGH is None:
            return f"a whole number ≥ {cls.LOW}"
        return f"a whole number from {cls.LOW} to {cls.HIGH}"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Natural:
        value = node.value
        if not isinstance(value, int) or isinstance(value, bool):
            raise ScenarioError(
                node.loc, f"{node.kind()} is not a whole number", expected=cls.yaml_expected()
            )
        if value < cls.LOW or (cls.HIGH is not None and value > cls.HIGH):
            shown = str(value) if abs(value) < 10**30 else f"a number of {len(str(abs(value)))} digits"
            raise ScenarioError(node.loc, f"{shown} is out of range", expected=cls.yaml_expected())
        return cls(value)


class Xid(Natural):
    """An XID: NVML reports it in an event's 64-bit unsigned ``eventData``."""

    HIGH = 2**64 - 1

    @classmethod
    def yaml_expected(cls) -> str:
        return "an XID: a whole number from 0 to 2^64-1 (NVML's eventData is 64 bits)"
