"""Event and log conditions follow the log: each wake-up reads only what was appended since."""

from __future__ import annotations

from types import SimpleNamespace

from harness.conditions.events import EventSeen
from harness.conditions.plugin import Log
from simkit import ObservationLog


class CountingLog(ObservationLog):
    """An observation log that counts the events it hands out."""

    handed_out = 0

    def events(self, source=None, kind=None, since=0):  # type: ignore[no-untyped-def]
        events = super().events(source, kind, since)
        self.handed_out += len(events)
        return events


def ctx_of(log: ObservationLog) -> SimpleNamespace:
    return SimpleNamespace(log=log, step_seq=0)


def test_an_event_condition_reads_each_event_once_however_often_it_is_evaluated() -> None:
    log = CountingLog()
    condition = EventSeen(kind="devices", source="kubelet")
    for i in range(200):
        log.append("kubelet", "devices", n=i)
        log.append("plugin", "log", line=f"line {i}")
        verdict = condition.evaluate(ctx_of(log))
    assert verdict.ok and verdict.observed.startswith("200 matching events")
    assert log.handed_out == 400  # every event once; a rescan each time would be 40,200


def test_a_log_condition_reads_each_line_once_and_keeps_the_last_lines_for_its_message() -> None:
    log = CountingLog()
    condition = Log(regex="never printed")
    for i in range(100):
        log.append("plugin", "log", line=f"line {i}")
        verdict = condition.evaluate(ctx_of(log))
    assert not verdict.ok
    assert "among 100" in verdict.observed and "line 99" in verdict.observed
    assert log.handed_out == 100


def test_the_next_case_is_counted_on_its_own_log() -> None:
    condition = EventSeen(kind="devices")
    first, second = ObservationLog(), ObservationLog()
    for _ in range(3):
        first.append("kubelet", "devices")
    assert condition.evaluate(ctx_of(first)).observed.startswith("3 matching")
    second.append("kubelet", "devices")
    assert condition.evaluate(ctx_of(second)).observed.startswith("1 matching")
