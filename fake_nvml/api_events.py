"""Event functions of the simulated node: event sets, registration, waits woken by injections."""

from __future__ import annotations

import pynvml

from fake_nvml.calls import Functions, _err, nvml_call
from fake_nvml.events import EventData, EventSet


class EventFunctions(Functions):
    """pynvml's event-set functions over the node's event hub."""

    # -- events ----------------------------------------------------------------------------
    @nvml_call()
    def nvmlDeviceGetSupportedEventTypes(self, handle: object) -> int:
        return self._gpu(handle).supported_events

    @nvml_call()
    def nvmlEventSetCreate(self) -> EventSet:
        return self._sim.events.create()

    @nvml_call()
    def nvmlDeviceRegisterEvents(self, handle: object, eventTypes: int, eventSet: object) -> None:
        gpu = self._gpu(handle)
        event_set = self._sim.events.live(eventSet)
        supported = gpu.supported_events
        if gpu.events_unsupported or int(eventTypes) & ~supported:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        self._sim.events.register(event_set, gpu.uuid, int(eventTypes))
        if self._sim.log is not None:  # a scenario can wait for a plugin's health check to be armed
            self._sim.log.append(
                "node", "events_registered", gpu=gpu.index, uuid=gpu.uuid, mask=int(eventTypes)
            )

    @nvml_call()
    def nvmlEventSetWait(self, eventSet: object, timeoutms: int) -> EventData:
        return self._wait(eventSet, timeoutms)

    @nvml_call()
    def nvmlEventSetWait_v2(self, eventSet: object, timeoutms: int) -> EventData:
        return self._wait(eventSet, timeoutms)

    def _wait(self, eventSet: object, timeoutms: int) -> EventData:
        event_set = self._sim.events.live(eventSet)

        def lost(uuid: str) -> bool:
            with self._model.lock:
                return any(g.lost for g in self._model.gpus if g.uuid == uuid)

        return self._sim.events.wait(event_set, int(timeoutms), lost, self._session._cancelled)

    @nvml_call()
    def nvmlEventSetFree(self, eventSet: object) -> None:
        self._sim.events.free(self._sim.events.live(eventSet))
