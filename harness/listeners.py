"""Who hears a run: the :class:`Listener` hooks, as pytest plugins hear ``pytest_runtest_logreport``.

A run is a session (:class:`harness.session.Session`) that tells its listeners when it starts,
when a case finishes and when it ends; the console, the HTML, JUnit and allure writers, and
any reporter an installed package registers (``dp_harness.reporters``) are listeners. The
front ends only choose which to attach.

Step events are heard live in the process that runs the case (the CLI without ``-n``,
``dp-harness show``, a pytest worker). A case that ran in another process (``-n``, pytest-xdist)
arrives whole: its steps are in ``Result.steps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.result import Result, StepResult


@dataclass(frozen=True)
class CaseRef:
    """One selected case, before it runs: enough to name it and to rerun it alone."""

    id: str  # file-stem or file-stem[case]
    path: str
    case: str = ""

    @property
    def node_id(self) -> str:
        """``path::id``: what ``dp-harness run`` and pytest take to select exactly this case."""
        return f"{self.path}::{self.id}"


@dataclass
class Plan:
    """What a session is about to run."""

    cases: list[CaseRef]
    workers: int = 1
    rerun: list[str] = field(default_factory=list)  # the command (argv) that reruns a case, before its id


@dataclass
class Outcome:
    """How a session went: every result, in the order of the plan."""

    results: list[Result]
    wall_s: float
    interrupted: int = 0  # the signal that ended the session early (SIGINT, SIGTERM), else 0

    def count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return counts

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass(frozen=True)
class StepStart:
    """A step about to run (``index`` counts from 1, as failures name it)."""

    index: int
    key: str
    title: str
    loc: str


class Listener:
    """The hooks of a run; each does nothing unless a subclass overrides it."""

    def session_started(self, plan: Plan) -> None:
        """Before the first case."""

    def step_started(self, case: str, step: StepStart) -> None:
        """A step of ``case`` (its id) starts; heard only in the process that runs the case."""

    def step_finished(self, case: str, step: StepResult) -> None:
        """A step of ``case`` ended (also when it failed); heard where step_started is."""

    def case_finished(self, result: Result) -> None:
        """A case ended: passed, failed, error or skipped, with its steps and events."""

    def session_finished(self, outcome: Outcome) -> None:
        """After the last case."""


class Fanout(Listener):
    """Several listeners heard as one, in the order given."""

    def __init__(self, listeners: Sequence[Listener] = ()) -> None:
        self.listeners = list(listeners)

    def add(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def session_started(self, plan: Plan) -> None:
        for listener in self.listeners:
            listener.session_started(plan)

    def step_started(self, case: str, step: StepStart) -> None:
        for listener in self.listeners:
            listener.step_started(case, step)

    def step_finished(self, case: str, step: StepResult) -> None:
        for listener in self.listeners:
            listener.step_finished(case, step)

    def case_finished(self, result: Result) -> None:
        for listener in self.listeners:
            listener.case_finished(result)

    def session_finished(self, outcome: Outcome) -> None:
        for listener in self.listeners:
            listener.session_finished(outcome)
