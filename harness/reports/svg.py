"""The timeline as an SVG picture: legend, lanes of marks, one lane per device, a labelled time axis.

The geometry is computed here (where each span, mark, label and tick goes); the markup is the
template ``templates/timeline.svg.j2``. Labels that would overlap move to a second line or
are left to the tooltip (every element has one, and the case page lists everything in text).
``window`` draws only part of the run (a failed case's focus).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.reports.templates import render
from harness.reports.timeline import GONE, HEALTHY, LANES, NO_PLUGIN, UNHEALTHY, Row, Timeline, Wanted
from harness.reports.timemap import fmt_length, fmt_time

WIDTH, LABEL_X, X0, RIGHT = 1100, 8, 170, 16
LEGEND_H, MARK_LANE_H, ROW_H, AXIS_H = 38, 30, 20, 34
CHAR_W = 6.2  # average width of a character of the 11px sans-serif labels
FILL = {HEALTHY: "#3a9d5d", UNHEALTHY: "#d64545", NO_PLUGIN: "url(#{p}-noplugin)", GONE: "#c9c9c9"}
LANE_COLOR = {
    "steps": "#555555",
    "fault": "#d64545",
    "kubelet": "#2f6fb3",
    "plugin": "#8a4fbf",
    "registration": "#1f8f8f",
    "pods": "#c98a1b",
    "calls": "#6b5b2e",
}
LANE_NAME = {
    "steps": "steps",
    "fault": "faults",
    "kubelet": "kubelet",
    "plugin": "plugin",
    "registration": "registration",
    "pods": "pods",
    "calls": "direct calls",
}
STEP_FILL = {"passed": "#3a9d5d", "failed": "#d64545", "error": "#8b1a1a", "skipped": "#999999"}


@dataclass
class Item:
    """One drawn element (the template knows each kind)."""

    kind: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    text: str = ""
    tip: str = ""
    fill: str = ""
    css: str = ""


@dataclass
class Picture:
    width: int
    height: int
    prefix: str
    title: str
    items: list[Item] = field(default_factory=list)


def _step(span: float) -> float:
    raw = span / 8 if span > 0 else 1
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


class _Labels:
    """Places labels on two lines per lane without overlap; a label with no room is left out."""

    def __init__(self) -> None:
        self.free: dict[tuple[str, int], float] = {}

    def place(self, lane: str, x: float, text: str, limit: float, lines: int = 2) -> int | None:
        width = len(text) * CHAR_W + 6
        if x + width > limit:
            return None
        for line in range(lines):
            if self.free.get((lane, line), -1.0) <= x:
                self.free[(lane, line)] = x + width
                return line
        return None


class _Drawing:
    """One picture of a timeline over a display window: where each part goes."""

    def __init__(
        self, timeline: Timeline, window: tuple[float, float] | None, prefix: str, title: str
    ) -> None:
        self.timeline = timeline
        self.start, stop = window or (0.0, max(timeline.end, 0.001))
        self.stop = max(stop, self.start + 0.001)
        self.x1 = WIDTH - RIGHT
        self.lanes = [  # only lanes with something in this window (a zoomed picture keeps to the point)
            lane
            for lane in LANES
            if (lane == "steps" and timeline.windows)
            or any(m.lane == lane and self.start <= m.t <= self.stop for m in timeline.marks)
        ]
        self.top = LEGEND_H + 6
        self.rows_top = self.top + len(self.lanes) * MARK_LANE_H
        self.height = self.rows_top + max(len(timeline.rows), 1) * ROW_H + AXIS_H
        self.axis_y = self.height - AXIS_H + 6
        self.pic = Picture(WIDTH, self.height, prefix, title)
        self.labels = _Labels()

    def x(self, t: float) -> float:
        clamped = min(max(t, self.start), self.stop) - self.start
        return X0 + (self.x1 - X0) * clamped / (self.stop - self.start)

    def inside(self, a: float, b: float) -> bool:
        return b >= self.start and a <= self.stop

    def add(self, item: Item) -> None:
        self.pic.items.append(item)

    def bands(self) -> None:
        """The kubelet was down: behind the device lanes, labelled above them."""
        for band in self.timeline.bands:
            if self.inside(band.start, band.end):
                x, w = self.x(band.start), max(self.x(band.end) - self.x(band.start), 2)
                self.add(
                    Item("band", x, self.rows_top - 4, w, self.axis_y - self.rows_top - 2, tip=band.label)
                )
                self.add(Item("bandlabel", x + 2, self.rows_top - 7, text=f"▼ {band.label}"))

    def steps(self, y: float) -> None:
        """Expectation windows as bars, actions as ticks, labelled with their number where room allows."""
        timeline = self.timeline
        # The failed step is always labelled, in the failure's colour (the step the reader looks
        # for); other labels give way to it.
        reserved = [
            (self.x(w.start), self.x(w.start) + len(f"{w.index} {w.key} {w.status}") * CHAR_W + 6)
            for w in timeline.windows
            if w.status in ("failed", "error") and self.inside(w.start, w.end)
        ]
        for win in timeline.windows:
            if not self.inside(win.start, win.end):
                continue
            until = fmt_time(timeline.scenario_time(win.end))
            tip = f"{win.title}: {win.status} ({fmt_time(win.at)} → {until})"
            fill = STEP_FILL.get(win.status, "#999")
            x = self.x(win.start)
            if win.key == "expect" or win.end - win.start > 0.002 * (self.stop - self.start):
                self.add(Item("window", x, y + 4, max(self.x(win.end) - x, 3), 9, tip=tip, fill=fill))
            else:
                self.add(Item("tick", x, y + 2, 0, 12, tip=tip, fill=fill))
            failed = win.status in ("failed", "error")
            label = f"{win.index} {win.key}" + (f" {win.status}" if failed else "")
            end = x + len(label) * CHAR_W + 6
            if failed:
                self.labels.free[("steps", 0)] = end
                self.add(Item("label", x + 1, y + 24, text=label, fill=fill, tip=tip, css="failed"))
            elif any(a < end and x < b for a, b in reserved):
                continue
            elif self.labels.place("steps", x, label, self.x1, lines=1) is not None:
                self.add(Item("label", x + 1, y + 24, text=label, fill="#333", tip=tip))

    def marks(self, lane: str, y: float) -> None:
        """A lane of marks, each with a faint guide line down through the devices."""
        color = LANE_COLOR[lane]
        for m in self.timeline.marks:
            if m.lane != lane or not self.start <= m.t <= self.stop:
                continue
            tip = f"{fmt_time(m.at)} {m.label}" + (f": {m.detail}" if m.detail else "")
            mx = self.x(m.t)
            self.add(Item("guide", mx, y + 10, 0, self.axis_y - y - 10, fill=color))
            self.add(Item("dot", mx, y + 9, fill=color, tip=tip, css=lane))
            lx = mx + 6
            line = self.labels.place(lane, lx, m.label, self.x1)
            if line is None and lx + len(m.label) * CHAR_W > self.x1:  # no room on the right: the left
                lx = mx - 6 - len(m.label) * CHAR_W
                line = self.labels.place(lane, lx, m.label, self.x1)
            if line is not None:
                self.add(Item("label", lx, y + 13 + 11 * line, text=m.label, fill=color, tip=tip))

    def rows(self) -> None:
        """One lane per device: its health as spans; the reason on hover and, where wide enough, inside."""
        wanted = {w.device: w for w in self.timeline.wanted}
        for i, row in enumerate(self.timeline.rows):
            y = self.rows_top + i * ROW_H
            want = wanted.get(row.device)
            seen = _state_at(row, want.end) if want is not None else None
            missed = want is not None and seen != want.state
            name = f"{row.label} ✗" if missed else row.label
            self.add(
                Item("rowname", LABEL_X, y + 14, text=name, tip=row.device, css="missed" if missed else "")
            )
            for span in row.spans:
                if not self.inside(span.start, span.end):
                    continue
                x, w = self.x(span.start), max(self.x(span.end) - self.x(span.start), 1.5)
                tip = f"{row.label}: {span.state} from {fmt_time(span.since)}: {span.reason}"
                fill = FILL[span.state].format(p=self.pic.prefix)
                self.add(Item("span", x, y + 3, w, ROW_H - 6, tip=tip, fill=fill))
                words = _span_words(span.state, span.short)
                if words and len(words) * CHAR_W + 8 < w:
                    dark = "dark" if span.state in (NO_PLUGIN, GONE) else ""
                    self.add(Item("spantext", x + 4, y + 14, text=words, css=dark))
            if want is not None and self.inside(want.start, want.end):
                self.wanted(want, seen or "not listed", y)

    def wanted(self, want: Wanted, seen: str, y: float) -> None:
        """The failed expectation over its window: what it wanted of this device, and what was seen."""
        x, w = self.x(want.start), max(self.x(want.end) - self.x(want.start), 3)
        verdict = "held" if seen == want.state else f"the kubelet saw {seen}"
        tip = f"step {want.step} expected {want.label} {want.state}; {verdict}"
        self.add(Item("wanted", x, y + 1, w, ROW_H - 2, tip=tip, css="held" if seen == want.state else ""))
        words = f"expected {want.state}, saw {seen}" if seen != want.state else f"expected {want.state}"
        width = len(words) * CHAR_W + 8
        if width < w:  # inside the window, else beside it where there is room (a halo keeps it legible)
            tx = x + 4
        elif x + w + width < self.x1:
            tx = x + w + 4
        else:
            tx = max(X0, x - width)
        self.add(Item("wantedtext", tx, y + 14, text=words, tip=tip))

    def axis(self, zoomed: bool) -> None:
        """Ticks in scenario time, and the cuts (virtual-time jumps, quiet stretches)."""
        timeline, y = self.timeline, self.axis_y
        self.add(Item("axis", X0, y, self.x1 - X0))
        for tick in _ticks(timeline, self.start, self.stop, self.x):
            self.add(Item("axistick", self.x(tick), y, text=fmt_time(timeline.scenario_time(tick))))
        for t, cut in timeline.breaks:
            if not self.start <= t <= self.stop:
                continue
            if cut.kind == "jump":
                text, tip = (
                    f"+{fmt_length(cut.length)}",
                    f"virtual time jumps {fmt_length(cut.length)} (advance)",
                )
            else:
                text = f"{fmt_length(cut.length)} quiet"
                tip = f"{fmt_length(cut.length)} in which nothing happened, drawn narrow"
            self.add(Item("break", self.x(t), self.top, 0, y - self.top, text=text, tip=tip, css=cut.kind))
        name = "scenario time" + (" (zoomed to the failure)" if zoomed else "")
        self.add(Item("axisname", X0, self.height - 4, text=name))


def render_svg(
    timeline: Timeline, title: str = "", window: tuple[float, float] | None = None, prefix: str = "t"
) -> str:
    """The picture (``window``: only that display window, e.g. the failure's focus)."""
    drawing = _Drawing(timeline, window, prefix, title)
    _legend(drawing.pic, drawing.lanes, bool(timeline.wanted))
    drawing.bands()
    for j, lane in enumerate(drawing.lanes):
        y = drawing.top + j * MARK_LANE_H
        drawing.add(Item("lanename", LABEL_X, y + 13, text=LANE_NAME[lane], fill=LANE_COLOR[lane]))
        drawing.add(Item("laneline", X0, y + MARK_LANE_H - 2, drawing.x1 - X0))
        if lane == "steps":
            drawing.steps(y)
        else:
            drawing.marks(lane, y)
    drawing.rows()
    drawing.axis(window is not None)
    return render("timeline.svg.j2", pic=drawing.pic)


def _span_words(state: str, short: str) -> str:
    """The words inside a span: a hatched span is 'no plugin' by the legend, so only why."""
    if state == HEALTHY:
        return ""
    if state == NO_PLUGIN and short:
        return short
    return state + (f": {short}" if short else "")


def _state_at(row: Row, t: float) -> str | None:
    """The device's state at display time ``t`` (the last span that began by then)."""
    state = None
    for span in row.spans:
        if span.start <= t:
            state = span.state
    return state


def _ticks(timeline: Timeline, start: float, stop: float, x: Callable[[float], float]) -> list[float]:
    """Display times of the axis ticks: nice scenario times inside each stretch between cuts."""
    edges = sorted({start, stop, *[t for t, _ in timeline.breaks], *[t + c.keep for t, c in timeline.breaks]})
    cut_out = [(t, t + c.keep) for t, c in timeline.breaks]
    ticks: list[float] = []
    for d0, d1 in itertools.pairwise(edges):
        if d1 <= start or d0 >= stop or any(a <= d0 and d1 <= b for a, b in cut_out):
            continue
        s0, s1 = timeline.scenario_time(d0), timeline.scenario_time(d1)
        room = max(1, int((x(d1) - x(d0)) // 90))
        step = _step((s1 - s0) * 8 / room)
        candidates = [s0] + [k * step for k in range(math.ceil(s0 / step), math.floor(s1 / step) + 1)]
        for scenario in candidates:
            d = d0 + (scenario - s0) * (d1 - d0) / (s1 - s0) if s1 > s0 else d0
            if start <= d <= stop and all(abs(x(d) - x(t)) >= 60 for t in ticks):
                ticks.append(d)
    return ticks


def _legend(pic: Picture, lanes: list[str], wanted: bool = False) -> None:
    health = [
        ("swatch", "device Healthy", FILL[HEALTHY]),
        ("swatch", "Unhealthy (as the plugin reported)", FILL[UNHEALTHY]),
        (
            "swatch",
            "no plugin connection: the kubelet counts it unhealthy",
            FILL[NO_PLUGIN].format(p=pic.prefix),
        ),
        ("swatch", "not listed", FILL[GONE]),
        ("bandswatch", "kubelet down", ""),
    ]
    marks = [("dotswatch", LANE_NAME[lane], LANE_COLOR[lane]) for lane in lanes if lane != "steps"]
    if "steps" in lanes:
        marks += [
            ("swatch", "step passed", STEP_FILL["passed"]),
            ("swatch", "step failed", STEP_FILL["failed"]),
        ]
    if wanted:
        marks.append(("wantedswatch", "what the failed step expected", ""))
    for y, entries in ((4, health), (20, marks)):
        x: float = LABEL_X
        for kind, text, fill in entries:
            pic.items.append(Item(kind, x, y, 14, 10, text=text, fill=fill))
            x += 24 + len(text) * CHAR_W
