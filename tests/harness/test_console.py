"""The console: a line per case, a progress bar only on a terminal, failures in full once, a summary."""

from __future__ import annotations

import io
import re

from harness.listeners import CaseRef, Outcome, Plan
from harness.reports.console import Console
from harness.result import Failure, Result, Status


def result(case: str, status: Status) -> Result:
    r = Result(case, f"scenarios/health/{case}.yaml", "", case, "d", [], status=status)
    if status == Status.FAILED:
        r.failure = Failure("step 2 (expect): x", f"scenarios/health/{case}.yaml:5:5", "expectation not true")
    return r


def play(tty: bool) -> str:
    out = io.StringIO()
    console = Console(out, tty=tty)
    cases = [result("a", Status.PASSED), result("b", Status.FAILED), result("c", Status.PASSED)]
    console.session_started(
        Plan([CaseRef(r.id, r.path) for r in cases], 2, ["dp-harness", "run", "--nvml", "real"])
    )
    for r in cases:
        console.case_finished(r)
    console.session_finished(Outcome(cases, 1.5))
    return out.getvalue()


def test_each_case_is_one_line_and_each_failure_is_printed_once_with_its_rerun_command() -> None:
    text = play(tty=False)
    lines = text.splitlines()
    assert [line.split()[:2] for line in lines[1:4]] == [
        ["PASS", "health/a"],
        ["FAIL", "health/b"],
        ["PASS", "health/c"],
    ]
    assert text.count("b failed at step 2 (expect): x") == 1
    assert "rerun: dp-harness run --nvml real scenarios/health/b.yaml::b" in text
    assert "2 passed, 1 failed in 1.50s" in text
    assert "\r" not in text  # no progress bar when the output is not a terminal


def test_on_a_terminal_a_progress_bar_stays_on_the_last_line_and_is_gone_at_the_end() -> None:
    text = play(tty=True)
    assert "\r[########................] 1/3" in text and "1 not passed" in text
    bars = re.compile(r"\r\[[#.]+\][^\r\n]*")
    assert bars.sub("", text).replace("\r\x1b[K", "") == play(tty=False)  # the same log, without bars
    last_bar = list(bars.finditer(text))[-1]
    assert text[last_bar.end() :].startswith("\r\x1b[K\n=")  # erased before the failures
