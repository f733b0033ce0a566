"""A monotonic clock that flows in real time and can jump forward.

Why one class rather than a real and a virtual clock: the plugin under test reacts in
real time (gRPC, threads), so a scenario's time must keep flowing; what virtual time
buys us is skipping the kubelet's long timers (the 5-minute endpoint grace period) and
NVML wait timeouts. ``advance(seconds)`` adds to the clock's offset, fires every timer
that became due (in order, on the caller's thread, before returning) and wakes every
waiter so that it re-checks its deadline. Nothing here polls.

``next_deadline()`` is the earliest moment anything on this clock is due (a timer, or a
waiter's deadline): what a driver that jumps over quiet stretches (:mod:`simkit.pacer`)
jumps to.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(order=True)
class TimerHandle:
    """A callback scheduled on a :class:`Clock`; ``cancel()`` stops it from firing."""

    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """Monotonic seconds (``now()``), condition waits with deadlines, and timers."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._waiting: dict[int, tuple[threading.Condition, int]] = {}
        self._deadlines: dict[int, float] = {}  # one per wait with a timeout, by wait token
        self._tokens = itertools.count()
        self._timers: list[TimerHandle] = []
        self._seq = itertools.count()
        self._timer_cond = threading.Condition()
        self._timer_thread: threading.Thread | None = None
        self._closed = False
        self._timer_generation = 0
        # Held while timers fire, by whichever thread fires them: advance() takes it too, so
        # when advance() returns, a due timer that the timer thread had already picked up has
        # finished as well.
        self._fire_lock = threading.RLock()
        self._start = time.monotonic()

    # -- time ---------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since this clock was made, including every ``advance``."""
        return time.monotonic() - self._start + self._offset

    def advance(self, seconds: float, *, fire: bool = True) -> None:
        """Jump forward: fire the timers that fall due, then wake every waiter.

        With ``fire=False`` the due timers fire on the timer thread (woken with the waiters)
        instead of the caller's, so a callback that blocks cannot hold up the caller.
        """
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; advance({seconds}) asks to go back")
        with self._lock:
            self._offset += seconds
        if fire:
            self._fire_due()
        self._wake_waiters()  # the timer thread among them: it fires what is left due

    def next_deadline(self, after: float | None = None) -> float | None:
        """The earliest pending timer or waiter deadline (clock seconds), or None when none is set.

        With ``after``, only deadlines later than it: those at or before are already due, and
        their owners are waking.
        """
        floor = float("-inf") if after is None else after
        with self._timer_cond:
            timers = [t.when for t in self._timers if not t.cancelled and t.when > floor]
        with self._lock:
            waiters = [d for d in self._deadlines.values() if d > floor]
        return min(timers + waiters, default=None)

    # -- waiting ------------------------------------------------------------------------
    def wait_for(self, cond: threading.Condition, predicate: Callable[[], T], timeout: float | None) -> T:
        """Like ``Condition.wait_for`` (call it holding ``cond``) with the deadline on this clock."""
        return self._wait(cond, predicate, timeout, track=True)

    def _wait(
        self, cond: threading.Condition, predicate: Callable[[], T], timeout: float | None, track: bool
    ) -> T:
        """``track``: the deadline counts in ``next_deadline`` (the timer thread's own does not:
        the timers themselves do, without the ones cancelled since it began waiting)."""
        deadline = None if timeout is None else self.now() + timeout
        token = self._register(cond, deadline if track else None)
        try:
            result = predicate()
            while not result:
                if deadline is None:
                    cond.wait()
                else:
                    remaining = deadline - self.now()
                    if remaining <= 0:
                        break
                    cond.wait(remaining)
                result = predicate()
            return result
        finally:
            self._unregister(cond, token)

    def sleep(self, seconds: float) -> None:
        """Sleep in clock time (an ``advance`` or ``close`` cuts it short). Not for synchronisation."""
        cond = threading.Condition()
        with cond:
            self.wait_for(cond, lambda: self._closed, seconds)

    def _register(self, cond: threading.Condition, deadline: float | None) -> int:
        with self._lock:
            _, count = self._waiting.get(id(cond), (cond, 0))
            self._waiting[id(cond)] = (cond, count + 1)
            token = next(self._tokens)
            if deadline is not None:
                self._deadlines[token] = deadline
            return token

    def _unregister(self, cond: threading.Condition, token: int) -> None:
        with self._lock:
            self._deadlines.pop(token, None)
            _, count = self._waiting[id(cond)]
            if count == 1:
                del self._waiting[id(cond)]
            else:
                self._waiting[id(cond)] = (cond, count - 1)

    def _wake_waiters(self) -> None:
        with self._lock:
            conds = [c for c, _ in self._waiting.values()]
        for cond in conds:
            with cond:
                cond.notify_all()

    # -- timers -------------------------------------------------------------------------
    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once, ``delay`` clock-seconds from now, on the clock's timer thread."""
        return self.call_at(self.now() + delay, callback)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle(when, next(self._seq), callback)
        with self._timer_cond:
            heapq.heappush(self._timers, handle)
            self._timer_generation += 1
            if self._timer_thread is None:
                self._timer_thread = threading.Thread(
                    target=self._run_timers, name="simkit-clock-timers", daemon=True
                )
                self._timer_thread.start()
            self._timer_cond.notify_all()
        return handle

    def close(self) -> None:
        """Stop the timer thread; pending timers never fire, and sleepers wake (their time is up)."""
        with self._timer_cond:
            self._closed = True
            self._timers.clear()
            self._timer_cond.notify_all()
        self._wake_waiters()

    def _pop_due(self) -> TimerHandle | None:
        with self._timer_cond:
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if self._timers and self._timers[0].when <= self.now():
                return heapq.heappop(self._timers)
            return None

    def _fire_due(self) -> None:
        with self._fire_lock:
            while (handle := self._pop_due()) is not None:
                handle.callback()

    def _next_delay(self) -> float | None:
        with self._timer_cond:
            if not self._timers:
                return None
            return max(0.0, self._timers[0].when - self.now())

    def _run_timers(self) -> None:
        while True:
            with self._timer_cond:
                if self._closed:
                    return
                delay = self._next_delay()
                generation = self._timer_generation
                if delay is None or delay > 0:
                    # A newly scheduled timer may fall due sooner: wake and recompute.
                    def woken(seen: int = generation) -> bool:
                        return self._closed or self._has_due() or self._timer_generation != seen

                    self._wait(self._timer_cond, woken, delay, track=False)
                if self._closed:
                    return
            self._fire_due()

    def _has_due(self) -> bool:
        return bool(self._timers) and self._timers[0].when <= self.now()
