"""A session tells its listeners about every case: live where it runs, in the plan's order at the end."""

from __future__ import annotations

from harness.listeners import Listener, Outcome, Plan, StepStart
from harness.model.scenario import load
from harness.options import RunOptions
from harness.result import Result, Status, StepResult
from harness.session import Session

OK = "description: ok\nnode: 2xH100\nsteps:\n  - expect: {registered: true}\n  - kubelet: restart\n"
BAD = "description: bad\nnode: 2xH100\nsteps:\n  - expect: {capacity: 9, within: 100ms}\n"


class Recorder(Listener):
    def __init__(self) -> None:
        self.heard: list[tuple[str, ...]] = []
        self.outcome: Outcome | None = None

    def session_started(self, plan: Plan) -> None:
        self.heard.append(("session", str(len(plan.cases))))

    def step_started(self, case: str, step: StepStart) -> None:
        self.heard.append(("step", case, str(step.index)))

    def step_finished(self, case: str, step: StepResult) -> None:
        self.heard.append(("step done", case, str(step.index), step.status))

    def case_finished(self, result: Result) -> None:
        self.heard.append(("case", result.id, result.status))

    def session_finished(self, outcome: Outcome) -> None:
        self.heard.append(("end",))
        self.outcome = outcome


def cases(write):
    return [*load(write("a-ok.yaml", OK)), *load(write("b-bad.yaml", BAD))]


def test_listeners_hear_the_session_each_step_live_and_each_case_in_order(write) -> None:
    first, second = Recorder(), Recorder()
    outcome = Session(RunOptions(), [first, second]).run(cases(write))
    assert (
        first.heard
        == second.heard
        == [
            ("session", "2"),
            ("step", "a-ok", "1"),
            ("step done", "a-ok", "1", Status.PASSED),
            ("step", "a-ok", "2"),
            ("step done", "a-ok", "2", Status.PASSED),
            ("case", "a-ok", Status.PASSED),
            ("step", "b-bad", "1"),
            ("step done", "b-bad", "1", Status.FAILED),
            ("case", "b-bad", Status.FAILED),
            ("end",),
        ]
    )
    assert [r.id for r in outcome.results] == ["a-ok", "b-bad"] and not outcome.ok


def test_cases_run_in_worker_processes_reach_the_listeners_whole(write) -> None:
    recorder = Recorder()
    outcome = Session(RunOptions(), [recorder]).run(cases(write), workers=2)
    finished = sorted(h for h in recorder.heard if h[0] == "case")
    assert finished == [("case", "a-ok", Status.PASSED), ("case", "b-bad", Status.FAILED)]
    assert recorder.heard[0] == ("session", "2") and recorder.heard[-1] == ("end",)
    assert [r.id for r in outcome.results] == ["a-ok", "b-bad"]  # the plan's order, whatever ended first
    assert [s.status for s in outcome.results[0].steps] == [Status.PASSED, Status.PASSED]


def test_a_front_end_that_runs_cases_itself_records_them_into_the_session(write) -> None:
    from harness.runner import run_scenario
    from harness.session import case_ref

    scenarios = cases(write)
    recorder = Recorder()
    session = Session(RunOptions(), [recorder])
    session.start(Plan([case_ref(s) for s in scenarios]))
    for scenario in reversed(scenarios):
        session.record(Result.from_dict(run_scenario(scenario).to_dict()))
    outcome = session.finish()
    assert [r.id for r in outcome.results] == ["a-ok", "b-bad"]
    assert isinstance(outcome.results[1].status, Status) and outcome.results[1].status == Status.FAILED
