"""NVML event sets: per-set queues that waiters block on, woken by condition variables.

Why per-set conditions: a plugin typically has one health goroutine/thread per set; an
injection notifies exactly the sets that registered the device for that event type, so a
waiter wakes within microseconds and no thread ever polls. Timeouts are measured on the
simkit Clock, so ``clock.advance()`` ends a long ``nvmlEventSetWait`` in virtual time.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable

import pynvml

from simkit import Clock

NOT_ATTRIBUTABLE = 0xFFFFFFFF  # NVML_GPU_INSTANCE_ID_ANY / NVML_COMPUTE_INSTANCE_ID_ANY


class EventData:
    """What ``nvmlEventSetWait`` returns: the fields of pynvml's ``c_nvmlEventData_t``."""

    __slots__ = ("computeInstanceId", "device", "eventData", "eventType", "gpuInstanceId")

    def __init__(
        self,
        device: object,
        eventType: int,
        eventData: int = 0,
        gpuInstanceId: int = NOT_ATTRIBUTABLE,
        computeInstanceId: int = NOT_ATTRIBUTABLE,
    ) -> None:
        self.device = device
        self.eventType = eventType
        self.eventData = eventData
        self.gpuInstanceId = gpuInstanceId
        self.computeInstanceId = computeInstanceId

    def __repr__(self) -> str:
        return (
            f"EventData(device={self.device!r}, eventType=0x{self.eventType:08X}, "
            f"eventData={self.eventData}, "
            f"gpuInstanceId={self.gpuInstanceId}, computeInstanceId={self.computeInstanceId})"
        )


class EventSet:
    """An opaque event set (``c_nvmlEventSet_t``); ``id`` is how the socket protocol names it."""

    def __init__(self, set_id: int) -> None:
        self.id = set_id
        self.cond = threading.Condition()
        self.queue: deque[EventData] = deque()
        self.registered: dict[str, int] = {}
        self.freed = False

    def __repr__(self) -> str:
        return f"<nvmlEventSet {self.id}>"


class EventHub:
    """Every event set of one node; delivers injected events to the sets that registered for them."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._sets: dict[int, EventSet] = {}
        self._ids = itertools.count(1)

    def create(self) -> EventSet:
        with self._lock:
            event_set = EventSet(next(self._ids))
            self._sets[event_set.id] = event_set
            return event_set

    def get(self, set_id: int) -> EventSet | None:
        with self._lock:
            return self._sets.get(set_id)

    def live(self, event_set: object) -> EventSet:
        if not isinstance(event_set, EventSet) or event_set.freed or self.get(event_set.id) is not event_set:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return event_set

    def register(self, event_set: EventSet, uuid: str, mask: int) -> None:
        with event_set.cond:
            event_set.registered[uuid] = event_set.registered.get(uuid, 0) | mask

    def free(self, event_set: EventSet) -> None:
        with self._lock:
            self._sets.pop(event_set.id, None)
        with event_set.cond:
            event_set.freed = True
            event_set.queue.clear()
            event_set.cond.notify_all()

    def deliver(self, uuid: str, make: Callable[[], EventData]) -> int:
        """Queue an event for every set that registered ``uuid`` for its type; returns how many."""
        with self._lock:
            sets = list(self._sets.values())
        reached = 0
        for event_set in sets:
            with event_set.cond:
                record = make()
                if event_set.registered.get(uuid, 0) & record.eventType and not event_set.freed:
                    event_set.queue.append(record)
                    event_set.cond.notify_all()
                    reached += 1
        return reached

    def wake_all(self) -> None:
        """Make every waiter re-check (a GPU was lost, a server is closing)."""
        with self._lock:
            sets = list(self._sets.values())
        for event_set in sets:
            with event_set.cond:
                event_set.cond.notify_all()

    def wait(
        self,
        event_set: EventSet,
        timeout_ms: int,
        lost: Callable[[str], bool],
        cancelled: Callable[[], bool] | None = None,
    ) -> EventData:
        """Block until an event, a lost registered GPU, or the timeout (on the clock).

        Events queued before the GPU was lost are delivered first, then ``GpuIsLost``.
        """
        if timeout_ms < 0:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        with event_set.cond:

            def ready() -> bool:
                return bool(
                    event_set.queue
                    or event_set.freed
                    or any(map(lost, event_set.registered))
                    or (cancelled is not None and cancelled())
                )

            self.clock.wait_for(event_set.cond, ready, timeout_ms / 1000.0)
            if event_set.queue:
                return event_set.queue.popleft()
            if event_set.freed:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
            if any(map(lost, event_set.registered)):
                raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
            if cancelled is not None and cancelled():
                raise pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN)
            raise pynvml.NVMLError(pynvml.NVML_ERROR_TIMEOUT)
