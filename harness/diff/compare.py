"""Every kubelet-visible difference between two runs of the same case.

The traces (:mod:`harness.diff.trace`) are aligned by step: the same scenario ran twice, on
the same simulated node (same seed, so the same GPU UUIDs), once with each plugin. A fact that
differs is one :class:`Difference`; a milestone (registered, a device set changed or settled,
the plugin exited) that happened later or sooner than the other run's by more than the
tolerance is one too. A difference that persists unchanged over the next steps (a device that
stayed Healthy in one run) is reported once, at the step where it began.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from harness.diff.trace import Trace


@dataclass(frozen=True)
class Difference:
    """One thing the kubelet saw differently: where, what, and each plugin's version of it."""

    case: str
    step: str  # "step 3: inject XID 79 on gpu-1", "start", or "verdict"
    aspect: str
    a: str
    b: str

    @property
    def timing(self) -> bool:
        return self.aspect.startswith("time ")


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def compare(case: str, a: Trace, b: Trace, tolerance: float = 1.0) -> list[Difference]:
    """The differences between run ``a`` and run ``b`` of ``case`` (empty: the kubelet saw the same)."""
    out: list[Difference] = []
    if (a.status, a.failed_at) != (b.status, b.failed_at):
        verdict_a = a.status + (f" at {a.failed_at}" if a.failed_at else "")
        verdict_b = b.status + (f" at {b.failed_at}" if b.failed_at else "")
        out.append(Difference(case, "verdict", "case", verdict_a, verdict_b))
    persisting: dict[str, tuple[str, str]] = {}  # a difference that lasts is reported once
    for index in sorted(set(a.steps) | set(b.steps)):
        sa, sb = a.steps.get(index), b.steps.get(index)
        title = (sa or sb).title  # type: ignore[union-attr]
        where = "start" if index == 0 else f"step {index}: {title}"
        if sa is None or sb is None:
            missing = "a" if sa is None else "b"
            out.append(
                Difference(
                    case,
                    where,
                    "step ran",
                    "no" if missing == "a" else "yes",
                    "no" if missing == "b" else "yes",
                )
            )
            continue
        for aspect in sorted(set(sa.facts) | set(sb.facts)):
            va, vb = sa.facts.get(aspect), sb.facts.get(aspect)
            if va == vb:
                persisting.pop(aspect, None)
                continue
            shown = (_show(va), _show(vb))
            if persisting.get(aspect) != shown:
                out.append(Difference(case, where, aspect, *shown))
            persisting[aspect] = shown
        for milestone in sorted(set(sa.times) & set(sb.times)):
            ta, tb = sa.times[milestone], sb.times[milestone]
            if abs(ta - tb) > tolerance:
                out.append(Difference(case, where, f"time {milestone}", f"{ta:.3f}s", f"{tb:.3f}s"))
    return out
