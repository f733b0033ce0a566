"""The timeline as an SVG picture: one row per device (green Healthy, red Unhealthy, grey gone),
fault and lifecycle marks above, virtual-time jumps as dashed breaks. No dependencies."""

from __future__ import annotations

from html import escape

from harness.reports.timeline import Timeline

COLORS = {"Healthy": "#3a9d5d", "Unhealthy": "#d64545", "Gone": "#bbbbbb"}
LANES = {
    "fault": "#d64545",
    "kubelet": "#2f6fb3",
    "plugin": "#8a4fbf",
    "register": "#2f9c9c",
    "allocate": "#c98a1b",
    "step": "#666666",
}
LEFT, ROW_H, TOP, WIDTH = 120, 18, 28, 900


def render_svg(timeline: Timeline, title: str = "") -> str:
    end = max(timeline.end, 0.001)
    lanes = [lane for lane in LANES if any(m.lane == lane for m in timeline.marks)]
    mark_top = TOP + len(timeline.rows) * ROW_H + 10
    height = mark_top + len(lanes) * ROW_H + 30

    def x(t: float) -> float:
        return LEFT + (WIDTH - LEFT - 10) * min(max(t, 0.0), end) / end

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        f'<text x="4" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, row in enumerate(timeline.rows):
        y = TOP + i * ROW_H
        out.append(f'<text x="4" y="{y + 12}">{escape(row.label)}</text>')
        for start, stop, state in row.segments:
            w = max(x(stop) - x(start), 1.0)
            out.append(
                f'<rect x="{x(start):.1f}" y="{y + 2}" width="{w:.1f}" height="{ROW_H - 4}" '
                f'fill="{COLORS.get(state, "#999")}"><title>{escape(row.device)}: {state} '
                f"{start:.3f}s-{stop:.3f}s</title></rect>"
            )
    for j, lane in enumerate(lanes):
        y = mark_top + j * ROW_H
        out.append(f'<text x="4" y="{y + 12}" fill="{LANES[lane]}">{lane}</text>')
        for m in (m for m in timeline.marks if m.lane == lane):
            out.append(
                f'<line x1="{x(m.t):.1f}" y1="{TOP}" x2="{x(m.t):.1f}" y2="{y + ROW_H - 4}" '
                f'stroke="{LANES[lane]}" stroke-opacity="0.35"/>'
            )
            out.append(
                f'<circle cx="{x(m.t):.1f}" cy="{y + 8}" r="4" fill="{LANES[lane]}">'
                f"<title>{m.t:.3f}s {escape(m.label)}</title></circle>"
            )
    for t, skipped in timeline.breaks:
        out.append(
            f'<line x1="{x(t):.1f}" y1="{TOP - 4}" x2="{x(t):.1f}" y2="{height - 24}" stroke="#000" '
            f'stroke-dasharray="3,3"><title>virtual time +{skipped:g}s</title></line>'
        )
        out.append(f'<text x="{x(t) + 2:.1f}" y="{TOP - 6}" font-size="9">+{skipped:g}s</text>')
    axis_y = height - 12
    out.append(f'<text x="{LEFT}" y="{axis_y}">0s</text>')
    out.append(f'<text x="{WIDTH - 60}" y="{axis_y}">{end:.2f}s</text>')
    out.append("</svg>")
    return "\n".join(out)
