"""Real NVML with injected events: everything passes through except event sets.

For ``--nvml real`` scenarios the plugin must see the real GPUs, yet a scenario still wants
to say "XID 48 on gpu0". ``OverlayNVML`` wraps the real pynvml module: injected XID/ECC events
are merged into ``nvmlEventSetWait`` results of sets where that device was registered. A pump
thread per set waits on the real set (blocking in NVML, not polling) and forwards what real
NVML reports, so one queue and one condition variable serve both sources. Faults that need
the GPU itself to misbehave (lost GPUs, failing calls) raise :class:`SimulationRequired`.

Nothing that passes through may change a GPU: functions that reset it, change MIG, clocks or
limits, or create and destroy instances (:func:`fake_nvml.guard.changes_gpu`) answer NVML's
NoPermission without reaching the driver, and the refusal is logged as a ``node`` event.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn

from fake_nvml.events import NOT_ATTRIBUTABLE, EventData
from fake_nvml.guard import changes_gpu
from fake_nvml.injections import FAULTS
from simkit import Clock, ObservationLog

_PUMP_WAIT_MS = 500  # how long each real wait blocks; bounds how long a freed set's pump lingers


class SimulationRequired(RuntimeError):
    """An injection that real hardware cannot fake: use a simulated node (``--nvml sim:...``)."""


class _OverlaySet:
    """Our event set: the real one plus a merged queue of real and injected events."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.cond = threading.Condition()
        self.queue: deque[Any] = deque()  # injected EventData and real event records
        self.error: BaseException | None = None  # what real NVML raised (GpuIsLost): sticky
        self.registered: dict[str, tuple[Any, int]] = {}
        self.freed = False
        self.pump: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<overlay nvmlEventSet {id(self):x}>"


class OverlayNVML:
    """The real ``pynvml`` module with ``inject_xid``/``inject_ecc`` merged into its event sets."""

    def __init__(
        self, real_module: Any, clock: Clock | None = None, log: ObservationLog | None = None
    ) -> None:
        self._real = real_module
        self._clock = clock or (log.clock if log is not None else Clock())
        self._log = log
        self._lock = threading.Lock()
        self._sets: list[_OverlaySet] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._real, name)
        if callable(value) and changes_gpu(name):
            return self._guarded(name)
        return value

    def _guarded(self, name: str) -> Callable[..., NoReturn]:
        def refuse(*_: Any, **__: Any) -> NoReturn:
            self._note("refused", function=name, why="it would change a real GPU")
            raise self._real.NVMLError(self._real.NVML_ERROR_NO_PERMISSION)

        refuse.__name__ = name
        return refuse

    # -- event sets ------------------------------------------------------------------------
    def nvmlEventSetCreate(self) -> _OverlaySet:
        event_set = _OverlaySet(self._real.nvmlEventSetCreate())
        with self._lock:
            self._sets.append(event_set)
        return event_set

    def nvmlDeviceRegisterEvents(self, handle: Any, eventTypes: int, eventSet: Any) -> None:
        event_set = self._own(eventSet)
        self._real.nvmlDeviceRegisterEvents(handle, eventTypes, event_set.real)
        uuid = self._uuid(handle)
        # As the simulated node says it, so a scenario can wait until the plugin watches each GPU.
        self._note(
            "events_registered",
            gpu=int(self._real.nvmlDeviceGetIndex(handle)),
            uuid=uuid,
            mask=int(eventTypes),
        )
        with event_set.cond:
            _, mask = event_set.registered.get(uuid, (handle, 0))
            event_set.registered[uuid] = (handle, mask | int(eventTypes))
            if event_set.pump is None:
                event_set.pump = threading.Thread(
                    target=self._pump, args=(event_set,), daemon=True, name="nvml-overlay-pump"
                )
                event_set.pump.start()

    def nvmlEventSetWait(self, eventSet: Any, timeoutms: int) -> Any:
        event_set = self._own(eventSet)
        with event_set.cond:
            self._clock.wait_for(
                event_set.cond,
                lambda: event_set.queue or event_set.freed or event_set.error,
                timeoutms / 1000,
            )
            if event_set.queue:
                return event_set.queue.popleft()
            if event_set.error is not None:
                raise event_set.error
            if event_set.freed:
                raise self._real.NVMLError(self._real.NVML_ERROR_INVALID_ARGUMENT)
        raise self._real.NVMLError(self._real.NVML_ERROR_TIMEOUT)

    nvmlEventSetWait_v2 = nvmlEventSetWait

    def nvmlEventSetFree(self, eventSet: Any) -> None:
        event_set = self._own(eventSet)
        with event_set.cond:
            event_set.freed = True
            event_set.cond.notify_all()
            pumping = event_set.pump is not None
        with self._lock:
            self._sets.remove(event_set)
        if not pumping:  # otherwise the pump frees the real set once its own wait returns
            self._real.nvmlEventSetFree(event_set.real)

    def _pump(self, event_set: _OverlaySet) -> None:
        """Forward real events into the merged queue until the set is freed."""
        real = self._real
        while not event_set.freed:
            try:
                item = real.nvmlEventSetWait(event_set.real, _PUMP_WAIT_MS)
            except real.NVMLError as exc:
                if exc.value == real.NVML_ERROR_TIMEOUT:
                    continue
                with event_set.cond:  # e.g. GpuIsLost: every later wait raises it, as on real NVML
                    event_set.error = exc
                    event_set.cond.notify_all()
                break
            with event_set.cond:
                if event_set.freed:
                    break
                event_set.queue.append(item)
                event_set.cond.notify_all()
        with contextlib.suppress(real.NVMLError):
            real.nvmlEventSetFree(event_set.real)

    def _own(self, event_set: Any) -> _OverlaySet:
        if not isinstance(event_set, _OverlaySet) or event_set.freed:
            raise self._real.NVMLError(self._real.NVML_ERROR_INVALID_ARGUMENT)
        return event_set

    def _uuid(self, handle: Any) -> str:
        uuid = self._real.nvmlDeviceGetUUID(handle)
        return uuid.decode() if isinstance(uuid, bytes) else str(uuid)

    # -- injection ---------------------------------------------------------------------------
    def _deliver(self, gpu: int | str, event_type: int, data: int, gi: int | None, ci: int | None) -> int:
        if isinstance(gpu, int):
            count = self._real.nvmlDeviceGetCount()
            if not 0 <= gpu < count:
                raise ValueError(
                    f"GPU {gpu} does not exist: this machine has {count} GPUs (gpu0..gpu{count - 1})"
                )
            uuid = self._uuid(self._real.nvmlDeviceGetHandleByIndex(gpu))
        else:
            uuid = gpu
        with self._lock:
            sets = list(self._sets)
        reached = 0
        for event_set in sets:
            with event_set.cond:
                handle, mask = event_set.registered.get(uuid, (None, 0))
                if mask & event_type and not event_set.freed:
                    event_set.queue.append(
                        EventData(
                            handle,
                            event_type,
                            data,
                            NOT_ATTRIBUTABLE if gi is None else gi,
                            NOT_ATTRIBUTABLE if gi is None else (ci or 0),
                        )
                    )
                    event_set.cond.notify_all()
                    reached += 1
        return reached

    def inject_xid(self, gpu: int | str, xid: int, gi: int | None = None, ci: int | None = None) -> int:
        """Merge an XidCriticalError for the real ``gpu`` (index or UUID) into registered sets."""
        reached = self._deliver(gpu, self._real.nvmlEventTypeXidCriticalError, int(xid), gi, ci)
        self._note("xid", gpu=gpu, xid=int(xid), gi=gi, ci=ci, delivered=reached, overlay=True)
        return reached

    def inject_ecc(self, gpu: int | str, double_bit: bool = False) -> int:
        kind = (
            self._real.nvmlEventTypeDoubleBitEccError
            if double_bit
            else self._real.nvmlEventTypeSingleBitEccError
        )
        reached = self._deliver(gpu, kind, 0, None, None)
        self._note("ecc", gpu=gpu, double_bit=bool(double_bit), delivered=reached, overlay=True)
        return reached

    def _note(self, kind: str, **data: Any) -> None:
        if self._log is not None:
            self._log.append("node", kind, **data)

    def _needs_simulation(self, what: str) -> SimulationRequired:
        return SimulationRequired(
            f"{what} needs a simulated node (--nvml sim:<spec>): on real NVML only "
            f"{', '.join(f.name for f in FAULTS if f.real)} can be injected"
        )


def _refusal(method: str) -> Callable[..., NoReturn]:
    def refuse(self: OverlayNVML, *_: Any, **__: Any) -> NoReturn:
        raise self._needs_simulation(method)

    refuse.__name__ = method
    refuse.__doc__ = f"Refused: {method} needs a simulated node (the fault catalogue marks it so)."
    return refuse


# Every fault the catalogue marks as beyond real NVML is refused with the reason, never AttributeError.
for _fault in FAULTS:
    if not _fault.real:
        setattr(OverlayNVML, _fault.method, _refusal(_fault.method))
