"""Runs each case once per plugin (in parallel processes with ``workers`` > 1) and compares them."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.diff.compare import Difference, compare
from harness.diff.trace import trace
from harness.model.scenario import load
from harness.options import RunOptions
from harness.result import Result
from harness.runner import run_scenario


@dataclass(frozen=True)
class DiffSide:
    """One of the two plugins: a name for the report and how to run it."""

    name: str
    options: RunOptions


@dataclass
class CaseDiff:
    case: str
    a: Result
    b: Result
    differences: list[Difference] = field(default_factory=list)


def _run(path: str, case: str, options: RunOptions) -> Result:
    """Worker entry point: load the case, run it with one side's options."""
    scenario = next(s for s in load(path) if s.case == case)
    return run_scenario(scenario, options)


def diff_cases(
    scenarios: list[Any],
    a: DiffSide,
    b: DiffSide,
    *,
    workers: int = 1,
    tolerance: float = 1.0,
    on_case: Callable[[CaseDiff], None] | None = None,
) -> list[CaseDiff]:
    """Every case run with ``a`` and with ``b``, and the differences of each, in the cases' order."""
    out: list[CaseDiff] = []

    def finish(scenario: Any, ra: Result, rb: Result) -> None:
        done = CaseDiff(scenario.id, ra, rb, compare(scenario.id, trace(ra), trace(rb), tolerance))
        out.append(done)
        if on_case is not None:
            on_case(done)

    if workers <= 1:
        for s in scenarios:
            finish(s, run_scenario(s, a.options), run_scenario(s, b.options))
        return out
    context = multiprocessing.get_context("spawn")  # no fork of gRPC threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = [
            (s, pool.submit(_run, s.path, s.case, a.options), pool.submit(_run, s.path, s.case, b.options))
            for s in scenarios
        ]
        for s, fa, fb in pending:
            finish(s, fa.result(), fb.result())
    return out
