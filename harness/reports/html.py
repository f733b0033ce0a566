"""``index.html``: every scenario with its result, description, failure and timeline picture."""

from __future__ import annotations

from html import escape
from pathlib import Path

from harness.listeners import Listener, Outcome
from harness.reports.write import case_dir, read_results, write_case
from harness.result import Result, Status

STYLE = """body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top}
.passed{color:#2a7d46}.failed,.error{color:#c62828;font-weight:bold}.skipped{color:#888}
pre{white-space:pre-wrap;font-size:11px;max-width:900px}"""


def write_index(reports: Path, results: list[Result] | None = None) -> Path:
    results = results if results is not None else read_results(reports)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no scenarios"
    rows = []
    for r in sorted(results, key=lambda r: (r.status == Status.PASSED, r.path, r.id)):
        folder = case_dir(reports, r).name
        detail = ""
        if r.status in (Status.FAILED, Status.ERROR):
            detail = f"<pre>{escape(r.report(last_events=8))}</pre>"
        elif r.status == Status.SKIPPED:
            detail = escape(r.skip_reason)
        rows.append(
            f'<tr><td class="{r.status}">{r.status}</td><td><a href="{folder}/events.json">{escape(r.id)}</a>'
            f"<br><small>{escape(r.path)}</small></td><td>{escape(r.description)}{detail}</td>"
            f"<td>{r.duration_s * 1000:.0f} ms</td>"
            f'<td><a href="{folder}/timeline.svg"><img src="{folder}/timeline.svg" width="420"></a></td></tr>'
        )
    html = (
        f"<!doctype html><meta charset='utf-8'><title>Scenario results</title><style>{STYLE}</style>"
        f"<h1>Scenario results</h1><p>{summary}</p><table><tr><th>result</th><th>scenario</th>"
        f"<th>what it pins</th><th>time</th><th>timeline</th></tr>{''.join(rows)}</table>"
    )
    path = reports / "index.html"
    path.write_text(html, encoding="utf-8")
    return path


class HtmlReport(Listener):
    """Writes each case's folder as it finishes, and the index when the session ends."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def case_finished(self, result: Result) -> None:
        write_case(self.folder, result)

    def session_finished(self, outcome: Outcome) -> None:
        write_index(self.folder, outcome.results)
