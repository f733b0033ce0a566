"""``dp-harness show``: run one case and print its steps as they end, a text timeline, the failure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import EXIT_FAILED, EXIT_OK, UsageError, add_run_options, load, options_from
from harness.listeners import Listener
from harness.result import Status, StepResult

MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.SKIPPED: "SKIP"}


class _Steps(Listener):
    def step_finished(self, case: str, step: StepResult) -> None:
        print(f"  {MARK[step.status]:<5} {step.title}", flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario file (or file::case-id)")
    parser.add_argument("--case", default=None, help="which matrix case (default: the first)")
    add_run_options(parser)


def main(args: argparse.Namespace) -> int:
    options = options_from(args)
    from harness.reports.text import render_text
    from harness.reports.timeline import build_timeline
    from harness.runner import run_scenario

    if Path(args.scenario.partition("::")[0]).is_dir():
        raise UsageError(f"show runs one scenario file, and {args.scenario!r} is a folder: name a file in it")
    loaded = load([args.scenario])
    if loaded.errors:
        return 2
    cases = loaded.scenarios
    chosen = [c for c in cases if args.case is None or c.case == args.case]
    if not chosen:
        if all(not c.case for c in cases):
            raise UsageError(f"--case {args.case!r}: {args.scenario} has no matrix, so no cases to choose")
        names = ", ".join(c.case for c in cases)
        raise UsageError(f"--case {args.case!r}: no such case in {args.scenario}; cases: {names}")
    scenario = chosen[0]
    if len(cases) > 1 and args.case is None:
        print(f"(showing case {scenario.case!r}; others: {', '.join(c.case for c in cases[1:])})")
    print(f"{scenario.id}: {scenario.description}\n")
    result = run_scenario(scenario, options, _Steps())
    print()
    print(render_text(build_timeline(result.events, result.gpus)))
    print()
    print(result.report() if result.status != Status.PASSED else f"{scenario.id}: passed")
    sys.stdout.flush()
    return EXIT_OK if result.ok else EXIT_FAILED
