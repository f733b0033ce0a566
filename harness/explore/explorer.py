"""``explore()``: a session, then its findings as reproducers, replayed, and the report.

Findings that break the same invariant in the same last step are one finding (Hypothesis
batches of one session often meet the same bug); each is written as a scenario under
``<out>/reproducers/``, replayed through the scenario runner, and linked from
``<out>/index.html`` with the replay's timeline.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.explore import reproducer
from harness.explore.options import ExploreOptions
from harness.explore.report import write_html
from harness.explore.session import Finding, Session
from harness.options import RunOptions, rerun_args
from harness.result import Result


@dataclass
class Outcome:
    session: Session
    html: Path | None = None
    replay_commands: dict[int, str] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return self.session.findings

    @property
    def ok(self) -> bool:
        """Nothing broke: no violation, no harness error, no leak."""
        return not self.findings and not self.session.leaks.leaks()


def replay_command(program: str, path: Path, options: RunOptions) -> str:
    """``dp-harness run <reproducer> <the session's run options>``: what replays a finding."""
    return shlex.join([*shlex.split(program), "run", str(path), *rerun_args(options)])


def _key(finding: Finding) -> str:
    last = finding.steps[-1] if finding.steps else {}
    actions = [next(iter(s)) for s in finding.steps if "expect" not in s]
    if finding.signature:
        return finding.signature
    return json.dumps([finding.error[:200], last, actions], sort_keys=True, default=str)


def unique(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, Finding] = {}
    for f in findings:
        kept = seen.get(_key(f))
        if kept is None or f.actions < kept.actions:
            seen[_key(f)] = f
    return list(seen.values())


def _case_page(folder: Path, result: Result) -> Path:
    """The replay's case folder and page, as ``dp-harness run`` writes them (timeline included)."""
    from harness.reports.html import case_page, write_assets
    from harness.reports.write import write_case

    write_assets(folder)
    case = write_case(folder, result)
    (case / "index.html").write_text(case_page(result, case.name), encoding="utf-8")
    return case


def explore(
    options: ExploreOptions,
    out: Path | None,
    program: str = "python -m harness",
    replay: bool = True,
    progress: Callable[[Session], None] | None = None,
) -> Outcome:
    session = Session(options, progress=progress)
    session.explore()
    session.findings = unique(session.findings)
    outcome = Outcome(session)
    for n, finding in enumerate(session.findings):
        if finding.error or out is None:
            continue
        path = out / "reproducers" / reproducer.file_name(finding, options.seed, n + 1)
        command = replay_command(program, path, options.run_options)
        reproducer.write(finding, path, session.invariants, options.seed, command)
        outcome.replay_commands[n] = command
        if replay:
            result = reproducer.confirm(finding, options.run_options)
            finding.replay_dir = _case_page(out / "replays", result)
    if out is not None:
        outcome.html = write_html(session, out, outcome.replay_commands)
    return outcome
