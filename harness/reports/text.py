"""The timeline as text, for a plugin developer at a terminal (``dp-harness show``)."""

from __future__ import annotations

from harness.reports.timeline import GONE, HEALTHY, NO_PLUGIN, UNHEALTHY, Timeline
from harness.reports.timemap import fmt_time

GLYPH = {HEALTHY: "█", UNHEALTHY: "░", NO_PLUGIN: "▒", GONE: " "}


def render_text(timeline: Timeline, width: int = 60) -> str:
    end = max(timeline.end, 0.001)
    lines = [f"{'device':<14} 0s{'':{width - 8}}{fmt_time(timeline.scenario_time(end)):>6}"]

    def col(t: float) -> int:
        return min(width - 1, int(width * max(t, 0.0) / end))

    for row in timeline.rows:
        cells = [" "] * width
        for span in row.spans:
            for c in range(col(span.start), max(col(span.end), col(span.start) + 1)):
                cells[c] = GLYPH.get(span.state, "?")
        for t, _cut in timeline.breaks:
            cells[col(t)] = "┊"
        lines.append(f"{row.label:<14} {''.join(cells)}")
    lines.append(
        f"{'':<14} █ Healthy  ░ Unhealthy  ▒ no plugin connection  ┊ time cut out (virtual jump or quiet)"
    )
    for band in timeline.bands:
        lines.append(f"{'':<14} {band.label} from {fmt_time(timeline.scenario_time(band.start))}")
    lines.append("")
    for m in timeline.marks:
        lines.append(f"  {m.at:8.3f}s  {m.lane:<12} {m.label}")
    not_healthy = [(row, s) for row in timeline.rows for s in row.spans if s.state != HEALTHY]
    if not_healthy:
        lines.append("")
        for row, span in not_healthy:
            lines.append(f"  {row.label}: {span.state} from {span.since:.3f}s: {span.reason}")
    return "\n".join(lines)
