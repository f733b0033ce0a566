"""Skips grouped by reason: what a run did not test, and why, in a few lines.

Skip reasons are worded alike for alike causes (:mod:`harness.requires`), so counting them by
their text gives the groups: "needs 2 or more GPUs, the node has 1", "the plugin profile
'nvidia' does not claim our-log-lines", ...
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

ALSO = "; also "  # what follows it (the other missing features) does not split a group


def by_reason(reasons: Iterable[str]) -> list[tuple[str, int]]:
    """(reason, count) pairs, the most frequent first (ties in order of the text)."""
    counts = Counter(reason.split(ALSO)[0] for reason in reasons)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def summary_lines(ran: int, reasons: list[str], steps: list[str] | None = None) -> list[str]:
    """'ran N, skipped M' and one line per skip reason (and per reason steps were skipped for)."""
    lines = [f"ran {ran}, skipped {len(reasons)}" + (", grouped by reason:" if reasons else "")]
    lines += [f"  {n:>4}  {reason}" for reason, n in by_reason(reasons)]
    if steps:
        lines.append(f"steps skipped in cases that ran ({len(steps)}), by reason:")
        lines += [f"  {n:>4}  {reason}" for reason, n in by_reason(steps)]
    return lines


def nothing_ran(reasons: list[str]) -> str:
    """The one line that says why a run tested nothing (it exits 5), naming the commonest reason."""
    groups = by_reason(reasons)
    if not groups:
        return "nothing ran: no cases; exit status 5"
    reason, n = groups[0]
    if len(reasons) == 1:
        return f"nothing ran: the one case was skipped ({reason}); exit status 5"
    others = f"; {len(groups) - 1} other reason{'s' if len(groups) > 2 else ''}" if len(groups) > 1 else ""
    return f"nothing ran: all {len(reasons)} cases were skipped ({n}: {reason}{others}); exit status 5"
