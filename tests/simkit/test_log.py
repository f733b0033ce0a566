from __future__ import annotations

import json
import threading

import pytest

from simkit import Clock, ObservationLog, WaitAborted, WaitTimeout


def test_events_are_numbered_timestamped_and_filterable() -> None:
    clock = Clock()
    log = ObservationLog(clock)
    log.append("kubelet", "register", resource="nvidia.com/gpu")
    clock.advance(5)
    log.append("node", "xid", gpu=2, xid=79)
    first, second = log.events()
    assert (first.seq, second.seq) == (1, 2)
    assert second.t - first.t >= 5
    assert log.events(source="node") == [second]
    assert log.events(kind={"register", "xid"}, since=1) == [second]
    assert json.loads(log.to_json())[1]["data"] == {"gpu": 2, "xid": 79}


def test_wait_for_wakes_on_append_from_another_thread() -> None:
    log = ObservationLog()
    threading.Timer(0.01, lambda: log.append("kubelet", "devices", healthy=3)).start()
    event = log.wait_for(lambda: next(iter(log.events(kind="devices")), None), 5, "a device update")
    assert event.data == {"healthy": 3}


def test_wait_for_raises_with_what_was_awaited() -> None:
    log = ObservationLog()
    with pytest.raises(WaitTimeout, match="allocatable 3"):
        log.wait_for(lambda: False, 0.01, "allocatable 3")


def test_subscribers_see_every_later_event_until_unsubscribed() -> None:
    log = ObservationLog()
    seen: list[str] = []
    unsubscribe = log.subscribe(lambda e: seen.append(e.kind))
    log.append("node", "a")
    unsubscribe()
    log.append("node", "b")
    assert seen == ["a"]


def test_a_cursor_reads_each_event_once_and_follows_only_its_own_log_and_place() -> None:
    import pickle

    log = ObservationLog()
    first = log.append("kubelet", "devices")
    cursor = log.cursor(since=0)
    assert cursor.fresh() == [first]
    assert cursor.fresh() == []
    second = log.append("kubelet", "devices")
    assert cursor.fresh() == [second]
    assert cursor.follows(log, 0)
    assert not cursor.follows(log, 1)  # another starting place
    assert not cursor.follows(ObservationLog(), 0)  # another case's log
    copy = pickle.loads(pickle.dumps(cursor))
    assert not copy.follows(log, 0) and copy.fresh() == []


def test_abort_ends_a_wait_in_progress_and_every_later_one() -> None:
    log = ObservationLog()
    assert log.aborted is None
    threading.Timer(0.01, lambda: log.abort("out of time")).start()
    with pytest.raises(WaitAborted, match="out of time"):
        log.wait_for(lambda: False, None, "something that never comes")  # no deadline: only abort ends it
    with pytest.raises(WaitAborted, match="out of time"):
        log.wait_for(lambda: True, 5)
    assert log.aborted == "out of time"
    assert not issubclass(WaitAborted, WaitTimeout)  # a 'for' wait reads a timeout as success
