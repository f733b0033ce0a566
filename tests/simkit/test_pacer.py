"""The pacer jumps the clock over quiet stretches only: never while events flow or a thread computes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from simkit import Clock, ObservationLog, Pacer


@pytest.fixture
def sim() -> Iterator[tuple[Clock, ObservationLog, Pacer]]:
    clock = Clock()
    log = ObservationLog(clock)
    yield clock, log, Pacer(clock, log, quiet=0.02)
    clock.close()


def test_a_wait_for_a_timer_an_hour_away_jumps_to_it(sim) -> None:
    clock, log, pacer = sim
    clock.call_later(3600, lambda: log.append("kubelet", "endpoint_removed"))
    start = time.monotonic()
    with pacer.running(clock.now() + 7200):
        log.wait_for(lambda: log.events(kind="endpoint_removed"), 7200, "the grace period")
    assert time.monotonic() - start < 30  # an hour of clock time, not of real time
    assert clock.now() >= 3600
    assert 3599 < pacer.jumped < 3601


def test_a_wait_never_jumps_to_its_own_deadline_or_past_its_horizon(sim) -> None:
    clock, log, pacer = sim
    fired: list[bool] = []
    clock.call_later(5, lambda: fired.append(True))
    with pacer.running(clock.now() + 0.2), pytest.raises(AssertionError, match="nothing"):
        log.wait_for(lambda: False, 0.2, "nothing")
    assert fired == [] and pacer.jumped == 0


def test_a_hold_runs_to_its_horizon_and_fires_what_falls_due_inside(sim) -> None:
    clock, log, pacer = sim
    inside: list[bool] = []
    after: list[bool] = []
    clock.call_later(30, lambda: inside.append(True))
    clock.call_later(90, lambda: after.append(True))
    with pacer.running(clock.now() + 60, inclusive=True):
        with pytest.raises(AssertionError):
            log.wait_for(lambda: False, 60, "held for a minute")
    assert inside == [True] and after == []
    assert 60 <= clock.now() < 90


def test_no_jump_while_events_keep_coming(sim) -> None:
    clock, log, pacer = sim
    stop = threading.Event()
    chattered = threading.Event()  # 60 events, some 300 ms of chatter

    def chatter() -> None:  # an event every 5 ms: never quiet for 20 ms
        lines = 0
        while not stop.wait(0.005):
            log.append("plugin", "log", line="busy")
            lines += 1
            if lines == 60:
                chattered.set()

    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        clock.call_later(60, lambda: None)
        with pacer.running(clock.now() + 120):
            assert chattered.wait(30)
            assert pacer.jumped == 0
    finally:
        stop.set()
        thread.join()


def test_no_jump_while_a_thread_computes_without_logging(sim) -> None:
    clock, _log, pacer = sim
    done = threading.Event()
    jumped_while_busy: list[float] = []

    def compute() -> None:  # 300 ms of CPU and no event: a rebuild at thousands of devices
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        jumped_while_busy.append(pacer.jumped)
        done.set()

    clock.call_later(60, lambda: None)
    with pacer.running(clock.now() + 120):
        threading.Thread(target=compute).start()
        assert done.wait(30)
    assert jumped_while_busy == [0.0]


def test_each_jump_is_reported(sim) -> None:
    clock, log, _ = sim
    jumps: list[tuple[float, str]] = []
    pacer = Pacer(clock, log, quiet=0.02, on_jump=lambda s, why: jumps.append((s, why)))
    clock.call_later(10, lambda: log.append("node", "tick"))
    with pacer.running(clock.now() + 20, why="within"):
        log.wait_for(lambda: log.events(kind="tick"), 20, "the tick")
    assert len(jumps) == 1 and jumps[0][1] == "within" and 9 < jumps[0][0] < 10.1


def test_no_jump_while_a_child_process_works(sim) -> None:
    clock, _log, pacer = sim
    done = threading.Event()
    jumped_while_busy: list[float] = []

    def helper() -> None:  # a command the plugin runs and waits for: its CPU is not ours
        subprocess.run(
            [sys.executable, "-c", "import time\nend = time.time() + 0.4\nwhile time.time() < end: pass"]
        )
        jumped_while_busy.append(pacer.jumped)
        done.set()

    clock.call_later(60, lambda: None)
    with pacer.running(clock.now() + 120):
        threading.Thread(target=helper).start()
        assert done.wait(30)
    assert jumped_while_busy == [0.0]
