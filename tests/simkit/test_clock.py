from __future__ import annotations

import threading

import pytest

from simkit import Clock


def test_advance_fires_due_timers_in_order_before_returning() -> None:
    clock = Clock()
    fired: list[str] = []
    clock.call_later(300, lambda: fired.append("grace period"))
    clock.call_later(10, lambda: fired.append("ten seconds"))
    clock.call_later(900, lambda: fired.append("too late"))
    clock.advance(301)
    assert fired == ["ten seconds", "grace period"]
    assert clock.now() >= 301


def test_a_cancelled_timer_never_fires() -> None:
    clock = Clock()
    fired: list[int] = []
    clock.call_later(5, lambda: fired.append(1)).cancel()
    clock.advance(6)
    assert fired == []


def test_timers_fire_in_real_time_without_an_advance() -> None:
    clock = Clock()
    done = threading.Event()
    clock.call_later(0.01, done.set)
    assert done.wait(5)


def test_an_earlier_timer_scheduled_later_is_not_held_behind_a_far_one() -> None:
    clock = Clock()
    clock.call_later(3600, lambda: None)
    done = threading.Event()
    clock.call_later(0.01, done.set)
    assert done.wait(5)


def test_advance_cuts_a_long_wait_short() -> None:
    clock = Clock()
    cond = threading.Condition()
    result: list[object] = []

    def waiter() -> None:
        with cond:
            result.append(clock.wait_for(cond, lambda: False, 3600))

    thread = threading.Thread(target=waiter)
    thread.start()
    # Keep advancing until the waiter has seen its deadline pass (it may not be waiting yet).
    while thread.is_alive():
        clock.advance(3600)
        thread.join(0.01)
    assert result == [False]


def test_wait_for_returns_as_soon_as_the_predicate_holds() -> None:
    clock = Clock()
    cond = threading.Condition()
    state = {"ready": False}

    def producer() -> None:
        with cond:
            state["ready"] = True
            cond.notify_all()

    threading.Timer(0.01, producer).start()
    with cond:
        assert clock.wait_for(cond, lambda: state["ready"], 5) is True


def test_advance_returns_only_after_a_timer_the_timer_thread_picked_up_has_finished() -> None:
    clock = Clock()
    started = threading.Event()
    release = threading.Event()
    finished: list[bool] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        finished.append(True)

    clock.call_later(0.001, slow)  # falls due in real time: the timer thread fires it
    assert started.wait(5)
    advancer = threading.Thread(target=clock.advance, args=(10,))
    advancer.start()
    advancer.join(0.05)
    assert advancer.is_alive(), "advance() returned while a due timer was still running"
    release.set()
    advancer.join(5)
    assert finished == [True]


def _sleeping(clock: Clock, seconds: float) -> threading.Thread:
    """A thread sleeping ``seconds`` on ``clock``, its deadline registered before this returns."""
    before = clock.next_deadline()
    thread = threading.Thread(target=lambda: clock.sleep(seconds), daemon=True)
    thread.start()
    while clock.next_deadline() == before:  # registered as the thread starts waiting
        thread.join(0.001)
    return thread


def test_next_deadline_is_the_earliest_timer_or_wait_deadline() -> None:
    clock = Clock()
    assert clock.next_deadline() is None
    clock.call_later(300, lambda: None)
    clock.call_later(30, lambda: None).cancel()
    assert clock.next_deadline() == pytest.approx(clock.now() + 300, abs=1)
    thread = _sleeping(clock, 60)
    assert clock.next_deadline() == pytest.approx(clock.now() + 60, abs=1)
    assert clock.next_deadline(after=clock.now() + 100) == pytest.approx(clock.now() + 300, abs=1)
    clock.advance(61)
    thread.join(5)
    assert clock.next_deadline() == pytest.approx(clock.now() + 239, abs=1)


def test_advance_without_firing_leaves_due_timers_to_the_timer_thread() -> None:
    clock = Clock()
    fired: list[str] = []
    done = threading.Event()

    def due() -> None:
        fired.append(threading.current_thread().name)
        done.set()

    clock.call_later(60, due)
    clock.advance(61, fire=False)
    assert done.wait(5)
    assert fired == ["simkit-clock-timers"]


def test_close_wakes_sleepers_at_once() -> None:
    clock = Clock()
    thread = _sleeping(clock, 3600)
    clock.close()
    thread.join(5)
    assert not thread.is_alive()
