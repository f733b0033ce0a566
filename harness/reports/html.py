"""The HTML report of a run: ``index.html`` (every case, failures first) and a page per case.

The index is a table that sorts by any column and filters by text and status. A case page has
the steps with their source lines and outcomes, the failure (expected, observed, the fix), the
timeline (zoomed to the failure when the case failed, the whole run one click away), the
health of each device in words, and the events, filterable. Everything a page shows is in its
HTML; the small script only sorts, filters and toggles.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.listeners import Listener, Outcome
from harness.reports.svg import render_svg
from harness.reports.templates import ASSETS, asset, render
from harness.reports.timeline import HEALTHY, Timeline, timeline_of
from harness.reports.timemap import fmt_time
from harness.reports.write import case_dir, write_case
from harness.result import Result, Status

RANK = {Status.ERROR: 0, Status.FAILED: 1, Status.SKIPPED: 2, Status.PASSED: 3}
SNIPPET_LINES = 10


def _sources(result: Result) -> dict[int, list[tuple[int, str]]]:
    """Each step's source lines: from its line to the line before the next step of the same file."""
    files: dict[str, list[str]] = {}
    where: list[tuple[int, str, int]] = []
    for step in result.outline:
        path, line, _col = ([*str(step["loc"]).rsplit(":", 2), "", ""])[:3]
        if path not in files:
            try:
                files[path] = Path(path).read_text(encoding="utf-8").splitlines()
            except OSError:
                files[path] = []
        where.append((step["index"], path, int(line) if line.isdigit() else 0))
    out: dict[int, list[tuple[int, str]]] = {}
    for n, (index, path, first) in enumerate(where):
        lines = files[path]
        if not 1 <= first <= len(lines):
            out[index] = []
            continue
        nxt = next((ln for _, p, ln in where[n + 1 :] if p == path and ln > first), len(lines) + 1)
        indent = len(lines[first - 1]) - len(lines[first - 1].lstrip())
        snippet = [(first, lines[first - 1])]
        for k in range(first + 1, min(nxt, first + SNIPPET_LINES)):
            text = lines[k - 1]
            if text.strip() and len(text) - len(text.lstrip()) <= indent:
                break  # the step's mapping ended (the next key, or what follows the steps)
            snippet.append((k, text))
        while snippet and not snippet[-1][1].strip():
            snippet.pop()
        out[index] = snippet
    return out


def _steps(result: Result) -> list[dict[str, Any]]:
    done = {s.index: s for s in result.steps}
    sources = _sources(result)
    rows = []
    for step in result.outline or [
        {"index": s.index, "key": s.key, "title": s.title, "loc": s.loc} for s in result.steps
    ]:
        ran = done.get(step["index"])
        rows.append(
            {
                "index": step["index"],
                "title": step["title"],
                "loc": step["loc"],
                "status": str(ran.status) if ran else "not run",
                "window": f"{fmt_time(ran.t_start)} → {fmt_time(ran.t_end)}" if ran else "",
                "wall": f"{ran.wall_s * 1000:.0f} ms" if ran else "",
                "message": ran.message if ran else "",
                "source": sources.get(step["index"], []),
            }
        )
    return rows


def _events(result: Result) -> list[dict[str, Any]]:
    rows = []
    for e in result.events:
        data = json.dumps(e.get("data", {}), default=str, separators=(", ", ": "))
        rows.append(
            {
                "seq": e.get("seq", 0),
                "t": f"{e['t']:.3f}",
                "source": e["source"],
                "kind": e["kind"],
                "data": data,
            }
        )
    return rows


def _health(timeline: Timeline) -> list[dict[str, str]]:
    """The spans that are not Healthy, devices with the same story in one line."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for row in timeline.rows:
        for span in row.spans:
            if span.state != HEALTHY:
                grouped.setdefault((span.state, fmt_time(span.since), span.reason), []).append(row.label)
    return [
        {"devices": ", ".join(devices), "state": state, "since": since, "reason": reason}
        for (state, since, reason), devices in grouped.items()
    ]


def case_page(result: Result, folder_name: str) -> str:
    timeline = timeline_of(result)
    full = render_svg(timeline, f"{result.id}: {result.status}", prefix="full")
    zoomed = (
        render_svg(timeline, f"{result.id}: around the failure", timeline.focus, "zoom")
        if timeline.focus
        else ""
    )
    return render(
        "case.html.j2",
        r=result,
        folder=folder_name,
        steps=_steps(result),
        events=_events(result),
        sources=sorted({e["source"] for e in result.events}),
        health=_health(timeline),
        marks=[
            {"at": fmt_time(m.at), "lane": m.lane, "label": m.label, "detail": m.detail}
            for m in timeline.marks
        ],
        bands=[{"label": b.label, "at": fmt_time(timeline.scenario_time(b.start))} for b in timeline.bands],
        full=full,
        zoomed=zoomed,
        focus=[fmt_time(timeline.scenario_time(t)) for t in timeline.focus] if timeline.focus else [],
    )


def write_index(folder: Path, results: list[Result]) -> Path:
    counts = {status: sum(r.status == status for r in results) for status in Status}
    rows = []
    for r in sorted(results, key=lambda r: (RANK[r.status], r.path, r.id)):
        why = r.skip_reason if r.status == Status.SKIPPED else (r.failure.message if r.failure else "")
        rows.append(
            {
                "r": r,
                "rank": RANK[r.status],
                "folder": Path(r.path).parent.name if r.path else "",
                "href": f"{case_dir(folder, r).name}/index.html",
                "why": why,
                "ms": round(r.duration_s * 1000),
            }
        )
    html = render("index.html.j2", rows=rows, counts=counts, total=len(results), run=folder.name)
    path = folder / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


def write_assets(folder: Path) -> None:
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    for name in ASSETS:
        (folder / "assets" / name).write_text(asset(name), encoding="utf-8")


class HtmlReport(Listener):
    """Writes each case's folder and page as it finishes, and the index when the session ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        write_assets(folder)

    def case_finished(self, result: Result) -> None:
        case = write_case(self.folder, result)
        (case / "index.html").write_text(case_page(result, case.name), encoding="utf-8")

    def session_finished(self, outcome: Outcome) -> None:
        write_index(self.folder, outcome.results)
