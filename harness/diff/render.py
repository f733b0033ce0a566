"""The differences as a console table and as an HTML section of the report."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from harness.diff.run import CaseDiff, DiffSide

WIDTH = 60  # characters of a plugin's value shown in the console


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _cut(text: str, width: int = WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(cases: Sequence[CaseDiff], a: DiffSide, b: DiffSide) -> str:
    """One row per difference: case, step, what differs, plugin A's version, plugin B's."""
    rows = [(d.case, d.step, d.aspect, d.a, d.b) for c in cases for d in c.differences]
    same = sum(1 for c in cases if not c.differences)
    head = ("case", "step", "what", f"A: {a.name}", f"B: {b.name}")
    if not rows:
        return f"no kubelet-visible difference in {_n(len(cases), 'case')} ({a.name} vs {b.name})"
    cut = [tuple(_cut(str(x), WIDTH if i >= 3 else 40) for i, x in enumerate(r)) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cut)) for i, h in enumerate(head)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*head), "  ".join("-" * w for w in widths)]
    out += [line.format(*r) for r in cut]
    differing = len(cases) - same
    out += ["", f"{_n(len(rows), 'difference')} in {differing} of {_n(len(cases), 'case')}; {same} alike"]
    return "\n".join(out)


def html_section(
    cases: Sequence[CaseDiff], a: DiffSide, b: DiffSide, sides: dict[str, str] | None = None
) -> str:
    """The same table as an HTML section (``<section id="diff">``) for the run's report; ``sides``
    links each plugin's name to its own case report."""
    rows = []
    for c in cases:
        for d in c.differences:
            cls = "timing" if d.timing else "fact"
            rows.append(
                f'<tr class="{cls}"><td>{escape(d.case)}</td><td>{escape(d.step)}</td>'
                f"<td>{escape(d.aspect)}</td><td><code>{escape(d.a)}</code></td>"
                f"<td><code>{escape(d.b)}</code></td></tr>"
            )
    same = sum(1 for c in cases if not c.differences)
    summary = f"{sum(len(c.differences) for c in cases)} differences; {same} of {len(cases)} cases alike"
    links = sides or {}

    def named(side: str, who: DiffSide) -> str:
        text = f"<code>{escape(who.name)}</code>"
        return f'<a href="{escape(links[side])}">{text}</a>' if side in links else text

    return (
        '<section id="diff"><h2>Differences between the plugins</h2>'
        f"<p>A: {named('a', a)} &nbsp; B: {named('b', b)}. {escape(summary)}.</p>"
        "<table><tr><th>case</th><th>step</th><th>what</th><th>A</th><th>B</th></tr>"
        + "".join(rows)
        + "</table></section>"
    )


def html_page(
    cases: Sequence[CaseDiff], a: DiffSide, b: DiffSide, sides: dict[str, str] | None = None
) -> str:
    style = (
        "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:2px 6px;vertical-align:top}tr.timing td{color:#666}code{white-space:pre-wrap}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>harness diff</title>"
        f"<style>{style}</style></head><body>{html_section(cases, a, b, sides)}</body></html>\n"
    )
