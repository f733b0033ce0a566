"""``FakeNVML``: a simulated node that is also a pynvml drop-in, plus the harness's controls.

The pynvml functions come from :class:`~fake_nvml.api.NvmlSurface`; this class adds what a
test harness needs and pynvml does not have: inspection (``gpus``), fault injection (thread
safe, each noted as a ``"node"`` event in the observation log), a timeline (``schedule``) on
the simkit clock, and serving the node to another process over a unix socket.
"""

from __future__ import annotations

import difflib
import os
import threading
from typing import TYPE_CHECKING, Any

import pynvml

from fake_nvml.api import NvmlSurface, Simulation, surface_functions
from fake_nvml.events import NOT_ATTRIBUTABLE, EventData, EventHub
from fake_nvml.faults import INIT_FAILURES, Faults, error_code
from fake_nvml.injections import METHODS
from fake_nvml.node import Gpu, NodeGpu, NodeModel
from fake_nvml.profile import MAX_GPUS, NodeProfile, load
from simkit import Clock, ObservationLog, TimerHandle

if TYPE_CHECKING:
    from fake_nvml.client import NvmlClient
    from fake_nvml.server import NodeServer

INJECTIONS = METHODS  # the fault catalogue's methods (fake_nvml/injections.py)


class FakeNVML(NvmlSurface):
    """A simulated GPU node with pynvml's surface. Build one with :meth:`from_spec`."""

    def __init__(
        self, profile: NodeProfile, *, clock: Clock | None = None, log: ObservationLog | None = None
    ) -> None:
        clock = clock or (log.clock if log is not None else Clock())
        super().__init__(Simulation(NodeModel(profile), EventHub(clock), Faults(log), clock, log))
        self.profile = profile
        self._timers: list[TimerHandle] = []
        self._servers: list[NodeServer] = []
        self._control = threading.Lock()

    @classmethod
    def from_spec(
        cls,
        spec: str | os.PathLike[str] | dict[str, Any],
        *,
        seed: int | str = 0,
        clock: Clock | None = None,
        log: ObservationLog | None = None,
        max_gpus: int = MAX_GPUS,
    ) -> FakeNVML:
        """A node from a shorthand (``"4xH100"``), a node profile YAML path, or a dict of that schema."""
        return cls(load(spec, seed=seed, max_gpus=max_gpus), clock=clock, log=log)

    @staticmethod
    def connect(path: str | os.PathLike[str], *, timeout: float = 5.0) -> NvmlClient:
        """A pynvml drop-in that talks to a node served with :meth:`serve` at ``path``."""
        from fake_nvml.client import NvmlClient

        return NvmlClient(str(path), timeout=timeout)

    @property
    def clock(self) -> Clock:
        return self._sim.clock

    @property
    def log(self) -> ObservationLog | None:
        return self._sim.log

    # -- inspection ------------------------------------------------------------------------
    @property
    def gpus(self) -> list[NodeGpu]:
        """Snapshots of every GPU in profile order (hidden and lost ones included, flagged)."""
        return self._sim.model.info()

    def gpu(self, which: int | str) -> NodeGpu:
        return self.gpus[self._target(which).index]

    @property
    def driver_version(self) -> str:
        """The driver version the node reports (the names of a driver root's libraries carry it)."""
        return self._sim.model.profile.driver_version

    @property
    def library_missing(self) -> bool:
        """``nvmlInit`` fails with LIBRARY_NOT_FOUND: a process that loads NVML finds no library."""
        return bool(self._sim.faults.init_failure == pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    def _target(self, which: int | str) -> Gpu:
        return self._sim.model.gpu(which)

    def _note(self, kind: str, **data: Any) -> None:
        if self._sim.log is not None:
            self._sim.log.append("node", kind, **data)

    # -- events ----------------------------------------------------------------------------
    def inject_xid(self, gpu: int | str, xid: int, gi: int | None = None, ci: int | None = None) -> int:
        """An XidCriticalError event on ``gpu`` (optionally attributed to a MIG GI/CI).

        Returns how many event sets received it (0 when nobody registered: as on real NVML,
        events before registration are not recorded).
        """
        target = self._target(gpu)
        if not isinstance(xid, int) or xid < 0:
            raise ValueError(f"an XID is a non-negative integer (e.g. 79, 48, 13), got {xid!r}")
        if ci is not None and gi is None:
            raise ValueError("a compute instance id needs its GPU instance id: pass gi= as well as ci=")
        if gi is not None:
            ci = 0 if ci is None else ci
            with self._sim.model.lock:
                known = sorted((m.gi, m.ci) for m in target.mig)
            if (gi, ci) not in known:
                raise ValueError(
                    f"gpu{target.index} has no MIG device gi={gi} ci={ci}; it has "
                    f"{known or 'none (MIG is off)'}"
                )
        reached = self._sim.events.deliver(
            target.uuid,
            lambda: EventData(
                target.handle,
                pynvml.nvmlEventTypeXidCriticalError,
                xid,
                NOT_ATTRIBUTABLE if gi is None else gi,
                NOT_ATTRIBUTABLE if ci is None else ci,
            ),
        )
        self._note("xid", gpu=target.index, uuid=target.uuid, xid=xid, gi=gi, ci=ci, delivered=reached)
        return reached

    def inject_ecc(self, gpu: int | str, double_bit: bool = False) -> int:
        """A single-bit (correctable) or double-bit (uncorrectable) ECC event on ``gpu``."""
        target = self._target(gpu)
        kind = pynvml.nvmlEventTypeDoubleBitEccError if double_bit else pynvml.nvmlEventTypeSingleBitEccError
        reached = self._sim.events.deliver(target.uuid, lambda: EventData(target.handle, kind, 0))
        self._note("ecc", gpu=target.index, uuid=target.uuid, double_bit=bool(double_bit), delivered=reached)
        return reached

    # -- device faults ---------------------------------------------------------------------
    def lose_gpu(self, gpu: int | str) -> None:
        """The GPU falls off the bus: its calls and waits on sets it is registered in raise GpuIsLost."""
        target = self._target(gpu)
        with self._sim.model.lock:
            target.lost = True
        self._sim.events.wake_all()
        self._note("gpu_lost", gpu=target.index, uuid=target.uuid)

    def recover_gpu(self, gpu: int | str) -> None:
        target = self._target(gpu)
        with self._sim.model.lock:
            target.lost = False
        self._sim.events.wake_all()
        self._note("gpu_recovered", gpu=target.index, uuid=target.uuid)

    def hide_gpu(self, gpu: int | str) -> None:
        """The GPU disappears from ``nvmlDeviceGetCount`` and enumeration (later indices shift)."""
        target = self._target(gpu)
        with self._sim.model.lock:
            target.hidden = True
        self._note("gpu_hidden", gpu=target.index, uuid=target.uuid)

    def unhide_gpu(self, gpu: int | str) -> None:
        target = self._target(gpu)
        with self._sim.model.lock:
            target.hidden = False
        self._note("gpu_unhidden", gpu=target.index, uuid=target.uuid)

    def unsupported_events(self, gpu: int | str, unsupported: bool = True) -> None:
        """``nvmlDeviceRegisterEvents`` on this GPU raises NotSupported (supported types read 0)."""
        target = self._target(gpu)
        with self._sim.model.lock:
            target.events_unsupported = bool(unsupported)
        self._note("events_unsupported", gpu=target.index, uuid=target.uuid, unsupported=bool(unsupported))

    def enable_mig(self, gpu: int | str, profiles: list[str] | dict[str, int] | None = None) -> list[str]:
        """Turn MIG on and create one GPU instance + compute instance per profile name.

        ``profiles`` is a list (``["3g.40gb", "1g.10gb"]``) or counts (``{"1g.10gb": 7}``).
        Sets registered for ``nvmlEventMigConfigChange`` get that event. Returns the MIG UUIDs.
        """
        target = self._target(gpu)
        if isinstance(profiles, dict):
            names = [name for name, count in profiles.items() for _ in range(int(count))]
        else:
            names = list(profiles or [])
        self._sim.model.set_mig(target.index, names)
        self._mig_changed(target)
        uuids = [m.uuid for m in target.mig_sorted()]
        self._note("mig_enabled", gpu=target.index, uuid=target.uuid, profiles=names, mig_uuids=uuids)
        return uuids

    def disable_mig(self, gpu: int | str) -> None:
        target = self._target(gpu)
        self._sim.model.disable_mig(target.index)
        self._mig_changed(target)
        self._note("mig_disabled", gpu=target.index, uuid=target.uuid)

    def _mig_changed(self, target: Gpu) -> None:
        self._sim.events.deliver(
            target.uuid, lambda: EventData(target.handle, pynvml.nvmlEventMigConfigChange, 0)
        )

    # -- call faults -----------------------------------------------------------------------
    def fail_init(self, mode: str | int | None) -> None:
        """Make ``nvmlInit`` fail: ``"library_not_found"``, ``"driver_not_loaded"``, a code; None clears."""
        if mode is None:
            code = None
        elif isinstance(mode, str) and mode in INIT_FAILURES:
            code = INIT_FAILURES[mode]
        elif isinstance(mode, str):
            raise ValueError(f"unknown init failure {mode!r}; use one of {sorted(INIT_FAILURES)} or None")
        else:
            code = error_code(mode)
        self._sim.faults.init_failure = code
        self._note("init_failure", mode=mode if not isinstance(mode, int) else code, code=code)

    def fail_calls(
        self, function: str, error: int | str = pynvml.NVML_ERROR_UNKNOWN, count: int | None = 1
    ) -> None:
        """The next ``count`` calls of ``function`` raise ``error`` (count None: until cleared, 0: clear)."""
        name = self._function(function)
        code = error_code(error)
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"count is a non-negative integer or None (for always), got {count!r}")
        self._sim.faults.fail(name, code, count)
        self._note("fail_calls", function=name, error=code, count=count)

    def add_latency(self, function: str, seconds: float) -> None:
        """Every call of ``function`` takes ``seconds`` longer (clock time; 0 clears)."""
        name = self._function(function)
        self._sim.faults.delay(name, float(seconds))
        self._note("latency", function=name, seconds=float(seconds))

    def clear_faults(self) -> None:
        """Undo every call fault, init failure, lost/hidden GPU and unsupported-events flag."""
        with self._sim.model.lock:
            for gpu in self._sim.model.gpus:
                gpu.lost = gpu.hidden = gpu.events_unsupported = False
        self._sim.faults = Faults(self._sim.log)
        self._sim.events.wake_all()
        self._note("faults_cleared")

    @staticmethod
    def _function(function: str) -> str:
        known = surface_functions()
        if function in known or (function.startswith("nvml") and callable(getattr(pynvml, function, None))):
            return function
        close = difflib.get_close_matches(function, known, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ValueError(f"{function!r} is not a pynvml function{hint}")

    # -- timeline --------------------------------------------------------------------------
    def schedule(self, at_seconds: float, method_name: str, **kwargs: Any) -> TimerHandle:
        """Run an injection at clock time ``at_seconds`` (``clock.advance`` past it fires it)."""
        if method_name not in INJECTIONS:
            close = difflib.get_close_matches(method_name, INJECTIONS, n=2)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise ValueError(
                f"cannot schedule {method_name!r}: not an injection.{hint} "
                f"Injections: {', '.join(INJECTIONS)}"
            )
        method = getattr(self, method_name)
        handle = self.clock.call_at(at_seconds, lambda: self._run_scheduled(method_name, method, kwargs))
        with self._control:
            self._timers.append(handle)
        return handle

    def _run_scheduled(self, name: str, method: Any, kwargs: dict[str, Any]) -> None:
        try:
            method(**kwargs)
        except Exception as exc:  # a timer thread has nobody to raise to: record it
            self._note("schedule_failed", method=name, error=f"{type(exc).__name__}: {exc}")

    # -- out of process --------------------------------------------------------------------
    def serve(self, path: str | os.PathLike[str]) -> NodeServer:
        """Serve this node on a unix socket (protocol: docs/nvml-protocol.md); ``close()`` stops it."""
        from fake_nvml.server import NodeServer

        server = NodeServer(self, str(path))
        with self._control:
            self._servers.append(server)
        self._note("serving", path=str(path))
        return server

    def close(self) -> None:
        """Stop every server and cancel scheduled injections."""
        with self._control:
            servers, self._servers = self._servers, []
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        for server in servers:
            server.close()

    def __repr__(self) -> str:
        names = [g.product.name for g in self._sim.model.gpus]
        return f"<FakeNVML {len(names)} GPUs: {', '.join(names)}>"
