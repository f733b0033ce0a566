"""What a session found, for people: the progress line, the summary table, the HTML page.

The HTML page (``<out>/index.html``) has the figures, one row per invariant (checks,
violations), the leak figures, and per finding its reproducer (linked), the replay command,
whether the replay failed for the same reason, and the replay's timeline.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from harness.explore.leaks import LIMITS
from harness.explore.session import Finding, Session


def progress_line(session: Session) -> str:
    t = session.tally
    spent = session.elapsed()
    return (
        f"explore: {t.runs} runs, {t.actions} actions, {sum(t.violations.values())} violations "
        f"({spent:.0f}s of {session.options.budget:g}s)"
    )


def summary(session: Session) -> str:
    t = session.tally
    width = max(len(i.name) for i in session.invariants)
    lines = [
        f"{t.runs} runs, {t.actions} actions in {session.wall:.1f}s (seed {session.options.seed}, "
        f"{len(session.fleet)} nodes, plugin variants: {', '.join(v.name for v in session.variants)})",
        "",
        f"{'invariant':<{width}}  {'checks':>8}  {'violations':>10}",
        "-" * (width + 22),
    ]
    for inv in session.invariants:
        lines.append(f"{inv.name:<{width}}  {t.checks[inv.name]:>8}  {t.violations[inv.name]:>10}")
    skipped = session.skipped_invariants()
    if skipped:
        lines.append(f"(not claimed by profile {session.claims.name}: {', '.join(skipped)})")
    lines += ["", session.leaks.describe()]
    if session.leaks.leaks():
        lines.append(
            "LEAK: " + ", ".join(f"{k} grows {v:+.2f}/run" for k, v in session.leaks.leaks().items())
        )
    return "\n".join(lines)


def found(finding: Finding) -> str:
    """When a finding was first seen, before shrinking (time to find, and what shrinking began from)."""
    steps = "".join(f", {n} after {t:.0f}s" for t, n in finding.shrink_steps)
    return (
        f"first seen after {finding.found_after:.1f}s in run {finding.found_runs} "
        f"({finding.found_actions} actions{steps}; shrinking took {finding.shrink_seconds:.0f}s, "
        f"{finding.shrink_runs} runs)"
    )


def finding_text(finding: Finding, replay_command: str) -> str:
    if finding.error:
        return f"ERROR (the harness or a component broke, not an invariant):\n{finding.error}"
    status = {
        True: "fails for the same reason",
        False: "does NOT fail for the same reason",
        None: "not replayed",
    }
    lines = [
        f"VIOLATION {finding.signature}",
        f"  {finding.message}",
        f"  observed: {finding.observed[:400]}",
        f"  {found(finding)}, shrunk to {finding.actions} actions"
        + (" (flaky: it passed once on replay)" if finding.flaky else ""),
    ]
    if finding.path is not None:
        lines.append(
            f"  reproducer: {finding.path} (replay {status[finding.confirmed]}: {finding.replay_status})"
        )
        lines.append(f"  replay: {replay_command}")
    return "\n".join(lines)


STYLE = """body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}
.bad{color:#c62828;font-weight:bold}.good{color:#2a7d46}pre{white-space:pre-wrap;font-size:11px}"""


def write_html(session: Session, out: Path, replay_commands: dict[int, str]) -> Path:
    t = session.tally
    rows = "".join(
        f"<tr><td>{escape(i.name)}</td><td>{escape(i.statement)}</td><td>{t.checks[i.name]}</td>"
        f'<td class="{"bad" if t.violations[i.name] else "good"}">{t.violations[i.name]}</td></tr>'
        for i in session.invariants
    )
    growth = session.leaks.growth()
    leak_rows = "".join(
        f"<tr><td>{k}</td><td>{growth[k]:+.2f} per run</td><td>{LIMITS[k]:g}</td></tr>" for k in LIMITS
    )
    items = []
    for n, f in enumerate(session.findings):
        if f.error:
            items.append(f"<li class='bad'>harness error<pre>{escape(f.error)}</pre></li>")
            continue
        link = escape(os.path.relpath(f.path, out)) if f.path else ""
        verdict = {True: "good", False: "bad", None: ""}[f.confirmed]
        timeline = ""
        if f.replay_dir is not None:
            rel = escape(os.path.relpath(f.replay_dir, out))
            timeline = f'<br><a href="{rel}/timeline.svg"><img src="{rel}/timeline.svg" width="480"></a>'
        items.append(
            f"<li><b class='bad'>{escape(f.invariant)}</b>: {escape(f.message)}<br>observed: "
            f"{escape(f.observed[:400])}<br>{escape(found(f))}; shrunk to {f.actions} actions; "
            f"reproducer <a href='{link}'>{link}</a> "
            f"<span class='{verdict}'>(replay: {escape(f.replay_status or 'not run')}, same reason: "
            f"{f.confirmed})</span><br><code>{escape(replay_commands.get(n, ''))}</code>{timeline}</li>"
        )
    html = (
        f"<!doctype html><meta charset='utf-8'><title>explore</title><style>{STYLE}</style>"
        f"<h1>harness explore</h1><p>seed {session.options.seed}: {t.runs} runs, {t.actions} actions in "
        f"{session.wall:.1f}s; profile {escape(session.claims.name)}</p>"
        f"<table><tr><th>invariant</th><th>statement</th><th>checks</th><th>violations</th></tr>{rows}</table>"
        f"<h2>Leaks</h2><p>{escape(session.leaks.describe())}</p>"
        f"<table><tr><th>measure</th><th>growth</th><th>limit</th></tr>{leak_rows}</table>"
        f"<h2>Findings</h2><ul>{''.join(items) or '<li>none</li>'}</ul>"
    )
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
