"""The timeline as text, for a plugin developer at a terminal (``python -m harness show``)."""

from __future__ import annotations

from harness.reports.timeline import Timeline

GLYPH = {"Healthy": "█", "Unhealthy": "░", "Gone": " "}


def render_text(timeline: Timeline, width: int = 60) -> str:
    end = max(timeline.end, 0.001)
    lines = [f"{'device':<14} 0s{'':{width - 8}}{end:>6.2f}s"]

    def col(t: float) -> int:
        return min(width - 1, int(width * max(t, 0.0) / end))

    for row in timeline.rows:
        cells = [" "] * width
        for start, stop, state in row.segments:
            for c in range(col(start), max(col(stop), col(start) + 1)):
                cells[c] = GLYPH.get(state, "?")
        for t, _ in timeline.breaks:
            cells[col(t)] = "┊"
        lines.append(f"{row.label:<14} {''.join(cells)}")
    lines.append(f"{'':<14} █ Healthy  ░ Unhealthy  ┊ virtual-time jump")
    lines.append("")
    for m in timeline.marks:
        lines.append(f"  {m.t:8.3f}s  {m.lane:<9} {m.label}")
    return "\n".join(lines)
