"""A finding as an ordinary scenario file, and the replay that confirms it fails for the same reason.

The file is the run's header (the node inline, the plugin configuration), its steps as they
ran (each action, then the expects that set the pace, then the one that failed), and the
never-invariants as ``never:`` entries. The comment on top records the seed and the command
that replays it. Confirmation runs the file through ``harness.runner.run_scenario`` as
``harness run`` would, and checks that it fails in the step (or ``never:`` entry) named after
the invariant.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.explore.invariants import BY_NAME, Invariant
from harness.explore.session import Finding
from harness.model.duration import Duration
from harness.model.scenario import load
from harness.options import RunOptions
from harness.result import Result, Status
from harness.runner import run_scenario


def file_name(finding: Finding, seed: int, n: int) -> str:
    return f"{finding.invariant}-seed{seed}-{n}.yaml"


def _flow(value: Any) -> str:
    """A value on one line in YAML's flow style: ``{gpu_lost: gpu0}``."""
    return yaml.safe_dump([value], default_flow_style=True, width=10_000, sort_keys=False).strip()[1:-1]


def _item(mapping: dict[str, Any]) -> str:
    """A list item the way scenario authors write steps: one key per line, each value on one line."""
    lines = [f"{key}: {_flow(value)}" for key, value in mapping.items()]
    return "  - " + "\n    ".join(lines) + "\n"


def _within(step: dict[str, Any]) -> dict[str, Any]:
    """``within: 2.030s`` → ``within: 2.03s`` (durations as an author writes them; ``for:`` too)."""
    body = step.get("expect")
    if not isinstance(body, dict):
        return step
    body = dict(body)
    for key in ("within", "for"):
        seconds = Duration.parse_text(body[key]) if key in body else None
        if seconds is not None:
            body[key] = str(Duration(round(float(seconds), 3)))
    return {**step, "expect": body}


def document(finding: Finding, invariants: tuple[Invariant, ...], seed: int, replay: str) -> str:
    """The reproducer's text: a comment with how it was found and how to replay it, then the scenario."""
    invariant = BY_NAME[finding.invariant]
    header = dict(finding.header)
    where = str(header.get("description", "")).removeprefix("explore: ")
    header["description"] = f"explore found: {finding.signature} ({where})"
    header["source"] = (
        f"harness explore --seed {seed} (first seen after {finding.found_after:.0f}s with "
        f"{finding.found_actions} actions, shrunk by Hypothesis to {finding.actions})"
    )
    header["tags"] = ["explore", finding.invariant]
    observed = re.sub(r"\s+", " ", finding.observed)[:300]
    lines = [
        f"# Found by `harness explore --seed {seed}` (Hypothesis batch seed {finding.batch_seed}):",
        f"#   {finding.invariant}: {invariant.statement}",
        f"#   observed: {observed}",
        f"# Replay: {replay}",
    ]
    if finding.flaky:
        lines.append("# Flaky: Hypothesis saw this run pass once when it replayed it.")
    text = "\n".join(lines) + "\n" + yaml.safe_dump(header, sort_keys=False, width=110)
    text += "steps:\n" + "".join(_item(_within(step)) for step in finding.steps)
    never = [i.never for i in invariants if i.never is not None]
    if never:
        text += "never:\n" + "".join(_item(n) for n in never)
    return text


def write(finding: Finding, path: Path, invariants: tuple[Invariant, ...], seed: int, replay: str) -> Path:
    """Write the reproducer to ``path``; ``replay`` is the command the comment on top records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document(finding, invariants, seed, replay), encoding="utf-8")
    finding.path = path
    return path


def replay(path: Path, options: RunOptions) -> Result:
    """Run the reproducer as ``harness run`` does (one case, fresh node, kubelet and plugin)."""
    (scenario,) = load(path)
    return run_scenario(scenario, options)


def same_reason(result: Result, finding: Finding) -> bool:
    """Did the replay fail where the finding did: the expect step or ``never:`` entry of its invariant?"""
    if result.status != Status.FAILED or result.failure is None:
        return False
    invariant = BY_NAME[finding.invariant]
    failure = result.failure
    if invariant.never is not None:
        return failure.expectation.startswith("never: ") and _never_text(invariant) in failure.expectation
    return f"({invariant.name})" in failure.step or failure.step.endswith(f": {invariant.name}")


def _never_text(invariant: Invariant) -> str:
    """How the runner names a never entry (its conditions described), for this invariant's entry."""
    from harness.errors import Loc
    from harness.loader import wrap
    from harness.model.calls import ConditionSet
    from harness.model.schema import ParseCtx

    assert invariant.never is not None
    cset = ConditionSet.parse(wrap(invariant.never, Loc("", 0, 0)), ParseCtx(Path.cwd()), "never")
    return cset.describe()


def confirm(finding: Finding, options: RunOptions) -> Result:
    """Replay the written reproducer and record whether it fails for the same reason."""
    assert finding.path is not None
    result = replay(finding.path, options)
    finding.confirmed = same_reason(result, finding)
    finding.replay_status = str(result.status)
    return result
