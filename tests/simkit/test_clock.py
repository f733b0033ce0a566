from __future__ import annotations

import threading

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
