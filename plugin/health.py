"""Event-driven device health: one NVML event set, one thread blocked in ``nvmlEventSetWait``.

NVIDIA's rules (k8s-device-plugin v0.20 ``internal/rm/health.go``): register XID|DBE|SBE masked by
each GPU's supported event types; a failing handle/supported-types query marks that GPU's devices
unhealthy; RegisterEvents NotSupported is only a warning; ECC events are logged and skipped; an
XID is critical unless ignored (:mod:`plugin.xids`); a wait error other than a timeout, or a
failing UUID lookup for an event, marks every device unhealthy; MIG events carrying a GPU/compute
instance id must match the device's.

Where we differ: an XID marks **every** device of the GPU (all replicas, all matching MIG devices),
not one (NVIDIA issue #1929); a persistent wait error is backed off instead of spun on; and with
``--health-recovery`` devices can return to Healthy (rule in docs/plugin.md, "Recovery").

``stop()`` never joins the thread (it may sit in an NVML wait for up to ``wait_ms``): it sets a
flag, and the thread exits, frees its event set and drops its NVML reference when it wakes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from plugin.clock import Cancellable, Clock, RealClock, Stopper
from plugin.logfmt import EventLogger
from plugin.nvmlutil import INSTANCE_ANY, NOT_SUPPORTED, TIMEOUT, NVMLError, const, describe, is_code, text
from plugin.resources import Device
from plugin.xids import HealthChecks

# on_change(devices, healthy, cause): cause has "reason" and, for XIDs, "xid".
OnChange = Callable[[list[Device], bool, dict[str, Any]], None]
ERROR_BACKOFF_S = 0.1


@dataclass
class _Fault:
    needs_outage: bool  # XID faults recover only after NVML has shown the GPU unavailable
    clean: int = 0
    outage_seen: bool = False


class HealthMonitor:
    def __init__(
        self,
        nvml: Any,
        devices: Sequence[Device],
        checks: HealthChecks,
        on_change: OnChange,
        events: EventLogger,
        *,
        recovery: bool = False,
        wait_ms: int = 5000,
        probe_interval_s: float = 1.0,
        probes: int = 3,
        clock: Clock | None = None,
    ) -> None:
        self._nvml = nvml
        self._devices = list(devices)
        self._checks = checks
        self._on_change = on_change
        self._log = events
        self._recovery = recovery
        self._wait_ms = int(wait_ms)
        self._probe_interval_s = probe_interval_s
        self._probes = max(1, probes)
        self._clock: Clock = clock or RealClock()
        self._stop = Stopper(self._clock)
        # Probes run on clock timers (so a scenario can advance them), the events on our thread:
        # the fault bookkeeping below is shared between the two.
        self._lock = threading.RLock()
        self._probe_timer: Cancellable | None = None
        self._thread: threading.Thread | None = None
        self._set: Any = None
        self._by_uuid: dict[str, list[Device]] = {}
        for device in self._devices:
            self._by_uuid.setdefault(device.gpu_uuid, []).append(device)
            if device.uuid != device.gpu_uuid:
                self._by_uuid.setdefault(device.uuid, []).append(device)
        self._gpus = list(dict.fromkeys(d.gpu_uuid for d in self._devices))
        self._unhealthy: set[str] = set()
        self._monitored: set[str] = set()  # GPUs whose events are registered (or NotSupported)
        self._faults: dict[str, _Fault] = {}
        self._wait_failing = False
        self._xid_mask = int(const(nvml, "nvmlEventTypeXidCriticalError"))
        self._mask = (
            self._xid_mask
            | int(const(nvml, "nvmlEventTypeDoubleBitEccError"))
            | int(const(nvml, "nvmlEventTypeSingleBitEccError"))
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Register for events (synchronously, so nothing after start() is missed) and start waiting."""
        if self._checks.disabled:
            self._log.info("health-checks-disabled", reason="DP_DISABLE_HEALTHCHECKS")
            return
        if not self._gpus:
            return
        self._nvml.nvmlInit()
        try:
            self._set = self._nvml.nvmlEventSetCreate()
            for gpu in self._gpus:
                self._register(gpu, initial=True)
        except BaseException:
            self._release()
            raise
        self._thread = threading.Thread(target=self._run, name="plugin-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._probe_timer is not None:
                self._probe_timer.cancel()
                self._probe_timer = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def _release(self) -> None:
        if self._set is not None:
            try:
                self._nvml.nvmlEventSetFree(self._set)
            except Exception:  # the node may already be gone; nothing to clean up then
                pass
            self._set = None
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass

    def _register(self, gpu: str, initial: bool) -> bool:
        try:
            handle = self._nvml.nvmlDeviceGetHandleByUUID(gpu)
            supported = int(self._nvml.nvmlDeviceGetSupportedEventTypes(handle))
        except NVMLError as exc:
            if initial:
                self._mark(self._by_uuid[gpu], "nvml-error", error=describe(exc))
            return False
        try:
            self._nvml.nvmlDeviceRegisterEvents(handle, self._mask & supported, self._set)
        except NVMLError as exc:
            if is_code(exc, NOT_SUPPORTED):
                self._log.warning(
                    "health-events-unsupported",
                    gpu=gpu,
                    error=describe(exc),
                    note="device not health-checked",
                )
                self._monitored.add(gpu)
                return True
            if initial:
                self._mark(self._by_uuid[gpu], "nvml-error", error=describe(exc))
            return False
        self._monitored.add(gpu)
        return True

    # -- the waiting thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                timeout_ms = self._wait_ms
                if self._recovery and self._faults:
                    # A timeout ends an error streak; while recovering, let it come every interval.
                    timeout_ms = max(1, min(timeout_ms, int(self._probe_interval_s * 1000)))
                try:
                    event = self._nvml.nvmlEventSetWait(self._set, timeout_ms)
                except Exception as exc:  # NVMLError, or a broken link to a remote node
                    if self._stop.is_set():
                        break
                    if is_code(exc, TIMEOUT):
                        self._wait_failing = False
                    else:
                        with self._lock:
                            self._wait_failed(exc)
                        self._stop.wait(ERROR_BACKOFF_S)
                    continue
                if self._stop.is_set():
                    break
                with self._lock:
                    if not self._in_outage():
                        # An event ends an error streak, unless a GPU is still out: the next wait
                        # fails for it again, and a new streak would mark every device once more.
                        self._wait_failing = False
                    self._handle(event)
        except Exception as exc:  # never die silently: the kubelet would keep trusting stale health
            self._log.error("health-monitor-failed", error=describe(exc))
            with self._lock:
                self._mark(self._devices, "nvml-error", error=describe(exc))
        finally:
            self._release()

    def _in_outage(self) -> bool:
        """Is a GPU out (recovery saw it not answer, and it has not come back)?"""
        return any(f.outage_seen for f in self._faults.values())

    def _wait_failed(self, exc: BaseException) -> None:
        if self._wait_failing:
            return  # one fault per error streak: a lost GPU makes every wait fail
        self._wait_failing = True
        if self._recovery:  # attribute the outage now: which GPUs stopped answering?
            for gpu in self._gpus:
                if not self._probe(gpu):
                    self._outage(self._faults.setdefault(gpu, _Fault(needs_outage=False)))
        self._log.error("health-wait-error", error=describe(exc), note="marking all devices unhealthy")
        self._mark(self._devices, "nvml-error", error=describe(exc))

    def _handle(self, event: Any) -> None:
        etype = int(event.eventType)
        if not etype & self._xid_mask:
            gpu = self._uuid_of(event)
            self._log.info("health-event-skipped", gpu=gpu, event_type=hex(etype), note="not an XID")
            return
        xid = int(event.eventData)
        if not self._checks.is_critical(xid):
            self._log.info("xid-ignored", gpu=self._uuid_of(event), xid=xid)
            return
        try:
            uuid = text(self._nvml.nvmlDeviceGetUUID(event.device))
        except Exception as exc:
            self._log.error(
                "health-uuid-error", xid=xid, error=describe(exc), note="marking all devices unhealthy"
            )
            self._mark(self._devices, "nvml-error", error=describe(exc), xid=xid)
            return
        devices = self._by_uuid.get(uuid)
        if not devices:
            self._log.info("xid-unmanaged", gpu=uuid, xid=xid)
            return
        gi = int(getattr(event, "gpuInstanceId", INSTANCE_ANY))
        ci = int(getattr(event, "computeInstanceId", INSTANCE_ANY))
        affected = [
            d
            for d in devices
            if not d.is_mig or ((gi == INSTANCE_ANY or d.gi == gi) and (ci == INSTANCE_ANY or d.ci == ci))
        ]
        if not affected:
            self._log.info("xid-unmatched", gpu=uuid, xid=xid, gi=gi, ci=ci)
            return
        self._log.warning(
            "xid",
            gpu=uuid,
            xid=xid,
            gi=None if gi == INSTANCE_ANY else gi,
            ci=None if ci == INSTANCE_ANY else ci,
            devices=len(affected),
        )
        self._mark(affected, "xid", xid=xid)

    def _uuid_of(self, event: Any) -> str | None:
        try:
            return text(self._nvml.nvmlDeviceGetUUID(event.device))
        except Exception:
            return None

    # -- health changes --------------------------------------------------------------------
    def _mark(self, devices: Sequence[Device], reason: str, **cause: Any) -> None:
        for gpu in dict.fromkeys(d.gpu_uuid for d in devices):
            fault = self._faults.get(gpu)
            if fault is None:
                self._faults[gpu] = _Fault(needs_outage=reason == "xid")
            else:
                fault.clean = 0
                fault.needs_outage = fault.needs_outage or (reason == "xid" and not fault.outage_seen)
        fresh = [d for d in devices if d.id not in self._unhealthy]
        self._unhealthy.update(d.id for d in fresh)
        if fresh:
            self._on_change(fresh, False, {"reason": reason, **cause})
        self._schedule_probe()

    def _schedule_probe(self) -> None:
        """While some GPU has a fault, probe every interval (a clock timer; NVML has no 'healthy' event)."""
        if self._recovery and self._faults and self._probe_timer is None and not self._stop.is_set():
            self._probe_timer = self._clock.call_later(self._probe_interval_s, self._probe_due)

    def _probe_due(self) -> None:
        with self._lock:
            self._probe_timer = None
            if self._stop.is_set():
                return
            try:
                self._probe_faults()
            except Exception as exc:  # a probe must never kill the timer chain silently
                self._log.error("health-probe-failed", error=describe(exc))
            self._schedule_probe()

    def _probe_faults(self) -> None:
        if self._wait_failing:
            # Every wait fails while one GPU is lost, so a second GPU's loss raises no new error:
            # only a probe of the GPUs that have no fault can see it.
            for gpu in self._gpus:
                if gpu not in self._faults and not self._probe(gpu):
                    self._outage(self._faults.setdefault(gpu, _Fault(needs_outage=False)))
                    self._mark(self._by_uuid[gpu], "nvml-error", error="NVML does not answer for this GPU")
        for gpu, fault in list(self._faults.items()):
            if self._probe(gpu):
                if fault.needs_outage:
                    continue
                fault.clean += 1
                if fault.clean < self._probes:
                    continue
                if fault.outage_seen or gpu not in self._monitored:
                    # Back only with its events registered: a Healthy GPU nobody watches would
                    # hide its next XID (after an outage NVML may have dropped the registration).
                    if not self._register(gpu, initial=False):
                        fault.clean = 0
                        continue
                del self._faults[gpu]
                if fault.outage_seen and not self._in_outage():
                    # The last outage that failed the waits is over. While another GPU is still
                    # out, the next wait fails for it again: ending the streak now would start a
                    # new one that marks every device Unhealthy once more.
                    self._wait_failing = False
                back = [d for d in self._by_uuid[gpu] if d.gpu_uuid == gpu and d.id in self._unhealthy]
                self._unhealthy.difference_update(d.id for d in back)
                if back:
                    self._on_change(back, True, {"reason": "recovered", "probes": self._probes})
            else:
                self._outage(fault)

    @staticmethod
    def _outage(fault: _Fault) -> None:
        fault.clean = 0
        fault.needs_outage = False
        fault.outage_seen = True

    def _probe(self, gpu: str) -> bool:
        """Does NVML answer for this GPU (handle, UUID, event types) without an error?"""
        try:
            handle = self._nvml.nvmlDeviceGetHandleByUUID(gpu)
            answered = text(self._nvml.nvmlDeviceGetUUID(handle))
            self._nvml.nvmlDeviceGetSupportedEventTypes(handle)
        except Exception:
            return False
        return answered == gpu
