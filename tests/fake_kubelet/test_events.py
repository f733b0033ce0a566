"""Kubelet events: a batch appends once it is published; a call record adds error and duration."""

from __future__ import annotations

import pytest

from fake_kubelet.events import CallRecord, EventBatch
from simkit import ObservationLog


def test_a_batch_appends_its_events_in_order_only_when_published(log: ObservationLog) -> None:
    with EventBatch(log) as events:
        events.add("first", {"n": 1})
        events.add("second", {"n": 2})
        assert len(log) == 0
    assert [(e.source, e.kind, e.data) for e in log.events()] == [
        ("kubelet", "first", {"n": 1}),
        ("kubelet", "second", {"n": 2}),
    ]


def test_a_call_record_adds_one_event_with_its_duration_and_no_error(log: ObservationLog) -> None:
    with EventBatch(log) as events, CallRecord(events, "allocate", pod="p", response=None) as record:
        record.data["response"] = {"envs": {}}
    (event,) = log.events(kind="allocate")
    assert event.data["pod"] == "p"
    assert event.data["response"] == {"envs": {}}
    assert event.data["error"] is None
    assert event.data["duration_ms"] >= 0


def test_a_call_record_keeps_the_error_of_a_failed_call_and_lets_it_propagate(log: ObservationLog) -> None:
    with pytest.raises(RuntimeError, match="boom"), EventBatch(log) as events:
        with CallRecord(events, "prestart", pod="p"):
            raise RuntimeError("boom")
    (event,) = log.events(kind="prestart")
    assert event.data["error"] == "boom"
    assert "duration_ms" in event.data
