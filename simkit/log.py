"""The observation log: timestamped, typed events that verdicts and reports are drawn from.

The fake kubelet, the fake NVML node, the launchers and the runner append here; every
append (and every ``touch()`` after a state change) wakes the waiters, so a test can say
"wait until allocatable is 3, at most 1 s" without sleeping or polling.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from simkit.clock import Clock

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline; the message says what was awaited."""


class WaitAborted(Exception):
    """The log was aborted while (or before) this wait ran; the message is the abort's reason.

    Not a WaitTimeout: a wait that holds a condition ``for`` a while treats its timeout as
    success, and an abort must never read as one.
    """


@dataclass(frozen=True)
class Event:
    """One observation: ``source`` is who saw it (kubelet, node, plugin, harness)."""

    seq: int
    t: float
    source: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        details = " ".join(f"{k}={v!r}" for k, v in self.data.items())
        return f"{self.t:9.3f}s {self.source:<8} {self.kind:<22} {details}".rstrip()


class ObservationLog:
    """An append-only, thread-safe event list with condition waits and subscribers."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._cond = threading.Condition()
        self._events: list[Event] = []
        self._seq = itertools.count(1)
        self._subscribers: list[Callable[[Event], None]] = []
        self._generation = 0
        self._aborted: str | None = None

    def append(self, source: str, kind: str, **data: Any) -> Event:
        """Record an event now and wake everyone waiting on the log."""
        with self._cond:
            event = Event(next(self._seq), self.clock.now(), source, kind, data)
            self._events.append(event)
            self._generation += 1
            subscribers = list(self._subscribers)
            self._cond.notify_all()
        for callback in subscribers:
            callback(event)
        return event

    def touch(self) -> None:
        """Wake waiters after a state change that is not itself an event."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def abort(self, reason: str) -> None:
        """Make every wait on this log, the ones running now and any later one, raise
        :class:`WaitAborted` with ``reason`` (a scenario out of wall-clock time stops waiting)."""
        with self._cond:
            self._aborted = reason
            self._generation += 1
            self._cond.notify_all()

    @property
    def aborted(self) -> str | None:
        """The reason given to :meth:`abort`, or None while the log is not aborted."""
        with self._cond:
            return self._aborted

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` on every later event (on the appender's thread); returns unsubscribe."""
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def events(
        self, source: str | None = None, kind: str | Iterable[str] | None = None, since: int = 0
    ) -> list[Event]:
        """Events after sequence number ``since``, optionally of one source and kind(s)."""
        kinds = {kind} if isinstance(kind, str) else (set(kind) if kind is not None else None)
        with self._cond:
            # Sequence numbers are positions + 1, so the events after ``since`` are a slice:
            # a reader that follows the log by its last seq never rescans what it has read.
            return [
                e
                for e in self._events[max(0, since) :]
                if (source is None or e.source == source) and (kinds is None or e.kind in kinds)
            ]

    def cursor(self, since: int = 0) -> Cursor:
        """A reader of this log from ``since`` on, each read returning only what is new."""
        return Cursor(self, since)

    @property
    def last_seq(self) -> int:
        with self._cond:
            return self._events[-1].seq if self._events else 0

    def wait_for(self, predicate: Callable[[], T], timeout: float | None, what: str = "") -> T:
        """Wait until ``predicate()`` is truthy, re-checking on every append; raise WaitTimeout
        (or WaitAborted once :meth:`abort` is called).

        The predicate runs without the log's lock held, so it may take the locks of the
        components it inspects (which append to this log while holding them).
        """
        deadline = None if timeout is None else self.clock.now() + timeout
        while True:
            with self._cond:
                generation = self._generation
                if self._aborted is not None:
                    raise WaitAborted(self._aborted)
            result = predicate()
            if result:
                return result
            remaining = None if deadline is None else deadline - self.clock.now()
            if remaining is not None and remaining <= 0:
                raise WaitTimeout(f"timed out after {timeout}s waiting for {what or predicate!r}")
            with self._cond:

                def appended(seen: int = generation) -> bool:
                    return self._generation != seen

                self.clock.wait_for(self._cond, appended, remaining)

    def wait_quiet(self, window: float, stop: Callable[[], bool]) -> bool:
        """Block until nothing was appended or touched for ``window`` seconds of *real* time.

        Real, not clock, time: quiet is about what the parts are doing now, and a clock jump
        must not count as a quiet stretch. False as soon as ``stop()`` holds (call ``touch()``
        after setting what it reads, to wake this wait).
        """
        with self._cond:
            seen = self._generation
            end = time.monotonic() + window
            while not stop():
                if self._generation != seen:
                    seen, end = self._generation, time.monotonic() + window
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return True
                self._cond.wait(remaining)
            return False

    def wait_change(self, stop: Callable[[], bool]) -> bool:
        """Block until the next append or touch; False as soon as ``stop()`` holds."""
        with self._cond:
            seen = self._generation
            while not stop():
                if self._generation != seen:
                    return True
                self._cond.wait()
            return False

    def to_json(self) -> str:
        with self._cond:
            return json.dumps([e.to_dict() for e in self._events], default=str, indent=1)

    def __len__(self) -> int:
        with self._cond:
            return len(self._events)


class Cursor:
    """Follows one log forward from a place: ``fresh()`` returns the events appended since it
    was last called, so a condition re-evaluated on every new event reads each event once.

    It holds the log weakly (a condition outlives its case's log); a copy or an unpickled one
    follows nothing, so its owner starts over.
    """

    def __init__(self, log: ObservationLog, since: int) -> None:
        self._log: weakref.ref[ObservationLog] | None = weakref.ref(log)
        self.since = since
        self._read = since

    def follows(self, log: ObservationLog, since: int) -> bool:
        """Whether this cursor reads ``log`` from ``since`` (or its owner must take a new one)."""
        return self._log is not None and self._log() is log and self.since == since

    def fresh(self) -> list[Event]:
        log = self._log() if self._log is not None else None
        if log is None:
            return []
        events = log.events(since=self._read)
        if events:
            self._read = events[-1].seq
        return events

    def __getstate__(self) -> dict[str, Any]:
        return {"since": self.since, "_read": self._read, "_log": None}
