"""The clock the plugin's timers run on: real time by default, a scenario's clock when given one.

Recovery probes, error back-offs, registration retries and the restart after a failed start are
all timed through this seam, so a harness that runs the plugin in its own process can hand in
its scenario clock and jump those timers forward (``advance: 1s``) instead of waiting them out.
The core never imports the harness's clock: anything with these three methods will do
(``simkit.Clock`` has them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic seconds, condition waits with a deadline on this clock, and one-shot timers."""

    def now(self) -> float: ...

    def wait_for(self, cond: threading.Condition, predicate: Callable[[], T], timeout: float | None) -> T: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


class RealClock:
    """Wall-clock monotonic time; timers are daemon ``threading.Timer`` threads."""

    def now(self) -> float:
        return time.monotonic()

    def wait_for(self, cond: threading.Condition, predicate: Callable[[], T], timeout: float | None) -> T:
        return cond.wait_for(predicate, timeout)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable:
        timer = threading.Timer(max(0.0, delay), callback)
        timer.daemon = True
        timer.start()
        return timer


class Stopper:
    """A stop flag whose waits run on a clock (``threading.Event.wait`` cannot be advanced)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._set = False

    def set(self) -> None:
        with self._cond:
            self._set = True
            self._cond.notify_all()

    def is_set(self) -> bool:
        return self._set

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` of clock time; True when stopped meanwhile."""
        with self._cond:
            return self._clock.wait_for(self._cond, lambda: self._set, seconds)
