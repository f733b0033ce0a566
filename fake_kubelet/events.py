"""Kubelet events: collected while state changes, appended to the log once the state lock is free.

Components append to the observation log without holding their own locks (see
docs/architecture.md), so each change collects its events in an :class:`EventBatch` and
publishes them on the way out. :class:`CallRecord` turns one kubelet→plugin call into one
event with its duration and error.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from simkit import ObservationLog

SOURCE = "kubelet"


class EventBatch:
    """Events to append together; ``with`` publishes them on exit (an empty batch wakes waiters)."""

    def __init__(self, log: ObservationLog) -> None:
        self._log = log
        self._items: list[tuple[str, dict[str, Any]]] = []

    def add(self, kind: str, data: dict[str, Any]) -> None:
        self._items.append((kind, data))

    def publish(self) -> None:
        items, self._items = self._items, []
        for kind, data in items:
            self._log.append(SOURCE, kind, **data)
        if not items:
            self._log.touch()

    def __enter__(self) -> EventBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.publish()


class CallRecord:
    """One call to a plugin as one event: ``data``, then ``error`` and ``duration_ms`` on exit.

    An exception leaving the block sets ``error`` to its text (unless set already) and
    propagates; the event is added to the batch either way.
    """

    def __init__(self, events: EventBatch, kind: str, **data: Any) -> None:
        self.events = events
        self.kind = kind
        self.data: dict[str, Any] = {**data, "error": None}
        self._started = 0.0

    def __enter__(self) -> CallRecord:
        self._started = time.monotonic()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and self.data["error"] is None:
            self.data["error"] = str(exc)
        self.data["duration_ms"] = round((time.monotonic() - self._started) * 1000, 3)
        self.events.add(self.kind, self.data)
