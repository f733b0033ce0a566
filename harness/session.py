"""One run of many scenario cases, told to its listeners: the object every front end drives.

The CLI calls :meth:`Session.run` (cases in this process, or in ``workers`` processes); the
pytest plugin, where pytest runs the items, calls :meth:`start`, :meth:`record` per case and
:meth:`finish`. Either way each listener hears ``session_started``, ``case_finished`` per case
and ``session_finished``, in that order, in this process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

from harness import interrupts
from harness.listeners import CaseRef, Fanout, Listener, Outcome, Plan, StepStart
from harness.model.scenario import Scenario, load
from harness.options import RunOptions
from harness.result import Result, StepResult
from harness.runner import run_scenario

# How long an interrupted worker may take to tear its case down (a plugin's stop: SIGTERM, then
# SIGKILL after the launcher's grace period).
TEARDOWN_S = 30.0


def case_ref(scenario: Scenario) -> CaseRef:
    return CaseRef(scenario.id, scenario.path, scenario.case)


class _CaseEvents(Listener):
    """The step events of one case, passed on with the case's id."""

    def __init__(self, case: str, listener: Listener) -> None:
        self.case = case
        self.listener = listener

    def step_started(self, case: str, step: StepStart) -> None:
        self.listener.step_started(self.case, step)

    def step_finished(self, case: str, step: StepResult) -> None:
        self.listener.step_finished(self.case, step)


def run_in_worker(path: str, case: str, options: RunOptions) -> Result:
    """A worker process's job: load one case by file and case id, run it, return the result."""
    with interrupts.terminable():  # the session ends a busy worker with SIGTERM: its case tears down
        scenario = next(s for s in load(path) if s.case == case)
        return run_scenario(scenario, options)


class Session:
    """Runs cases (or records cases run elsewhere) and tells the listeners."""

    def __init__(self, options: RunOptions, listeners: Sequence[Listener] = ()) -> None:
        self.options = options
        self.listeners = Fanout(listeners)
        self.plan = Plan([])
        self.results: dict[CaseRef, Result] = {}
        self._t0 = 0.0

    def add(self, listener: Listener) -> None:
        self.listeners.add(listener)

    # -- for front ends that run the cases themselves (pytest) -------------------------
    def start(self, plan: Plan) -> None:
        self.plan = plan
        self._t0 = time.perf_counter()
        self.listeners.session_started(plan)

    def record(self, result: Result) -> None:
        """A case ended (here or in another process)."""
        self.results[CaseRef(result.id, result.path, result.case)] = result
        self.listeners.case_finished(result)

    def finish(self, interrupted: int = 0) -> Outcome:
        order = {ref: i for i, ref in enumerate(self.plan.cases)}
        ordered = sorted(self.results.items(), key=lambda item: order.get(item[0], len(order)))
        outcome = Outcome([r for _, r in ordered], time.perf_counter() - self._t0, interrupted)
        self.listeners.session_finished(outcome)
        return outcome

    # -- for the CLI ---------------------------------------------------------------------
    def run(self, scenarios: Sequence[Scenario], workers: int = 1, rerun: Sequence[str] = ()) -> Outcome:
        """Run every case: here, in order, or spread over ``workers`` processes.

        Ctrl-C or SIGTERM (see :mod:`harness.interrupts`) ends the session early: the cases running
        tear down, no other case starts, and the outcome holds the cases that ended.
        """
        self.start(Plan([case_ref(s) for s in scenarios], workers, list(rerun)))
        try:
            if workers > 1 and len(scenarios) > 1:
                self._run_in_pool(scenarios, workers)
            else:
                for scenario in scenarios:
                    events = _CaseEvents(scenario.id, self.listeners)
                    self.record(run_scenario(scenario, self.options, events))
        except KeyboardInterrupt as exc:
            return self.finish(interrupted=interrupts.signum(exc))
        return self.finish()

    def _run_in_pool(self, scenarios: Sequence[Scenario], workers: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of gRPC threads
        with ProcessPoolExecutor(workers, context, interrupts.worker_started) as pool:
            futures = [pool.submit(run_in_worker, s.path, s.case, self.options) for s in scenarios]
            try:
                for future in as_completed(futures):
                    self.record(future.result())
            except KeyboardInterrupt:
                busy = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for process in busy:
                    with contextlib.suppress(OSError):
                        process.terminate()  # SIGTERM: the worker's case tears down (interrupts)
                for process in busy:
                    process.join(TEARDOWN_S)  # so no plugin of theirs outlives this process
                raise
