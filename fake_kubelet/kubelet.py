"""FakeKubelet: the kubelet's device manager in-process, with its registration server.

It behaves as the kubelet does where plugins can tell (see docs/fake-kubelet.md):
Register is synchronous and dials back; ListAndWatch is never retried; a lost stream
makes every device unhealthy and, after the grace period on the scenario clock,
drops capacity to 0; a restart deletes every socket but the checkpoint. Everything it
sees goes to the observation log as ``"kubelet"`` events.

This class is the façade: it builds the collaborators (the device manager, the
registration server, the allocation cache, the allocator and the pod admitter), runs
the process lifecycle, and answers questions about state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import TypeVar, cast

from deviceplugin.v1beta1 import KUBELET_SOCKET_NAME, MAX_UNIX_SOCKET_PATH, PRE_START_CONTAINER_TIMEOUT_S
from fake_kubelet.admission import PodAdmitter
from fake_kubelet.allocator import DeviceAllocator
from fake_kubelet.contract import Violation
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import ENDPOINT_STOP_GRACE_PERIOD_S, PROFILES, DeviceManager, Timeouts
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pods import Admission, ContainerAllocation, ContainerStart, Pod
from fake_kubelet.registration import RegistrationServer
from fake_kubelet.state import ResourceState
from simkit import Clock, Event, ObservationLog

__all__ = ["ENDPOINT_STOP_GRACE_PERIOD_S", "PROFILES", "FakeKubelet"]

T = TypeVar("T")


class FakeKubelet:
    """The kubelet's device manager on ``<socket_dir>/kubelet.sock``.

    ``profile="resource"`` keys endpoints by resource name (kubelet 1.26 up to the
    #135437 change, including bug #121994); ``"resource+socket"`` by (resource, socket
    path) as newer kubelets do. Timeouts are clock seconds: ``dial_timeout`` and
    ``prestart_timeout`` are the kubelet's; ``call_timeout`` is ours for the calls the
    kubelet leaves unbounded, so a hung plugin gets a verdict. ``response_budget`` is
    the response time above which a call is recorded as a violation.
    """

    def __init__(
        self,
        socket_dir: str | None = None,
        *,
        clock: Clock | None = None,
        log: ObservationLog | None = None,
        profile: str = "resource",
        call_timeout: float = 10.0,
        dial_timeout: float = 10.0,
        prestart_timeout: float = PRE_START_CONTAINER_TIMEOUT_S,
        response_budget: float = 1.0,
        grace_period: float = ENDPOINT_STOP_GRACE_PERIOD_S,
        max_workers: int = 16,
    ) -> None:
        self._owns_dir = socket_dir is None
        self.socket_dir = os.path.abspath(socket_dir or tempfile.mkdtemp(prefix="fk", dir="/tmp"))
        self.socket_path = os.path.join(self.socket_dir, KUBELET_SOCKET_NAME)
        listen_path = os.path.join(self.socket_dir, ".kubelet", KUBELET_SOCKET_NAME)
        if len(listen_path.encode()) > MAX_UNIX_SOCKET_PATH:
            raise ValueError(
                f"kubelet socket path {listen_path!r} is {len(listen_path.encode())} bytes; unix "
                f"sockets allow at most {MAX_UNIX_SOCKET_PATH}. Use a short directory, e.g. "
                "tempfile.mkdtemp(prefix='fk', dir='/tmp'), or leave socket_dir unset."
            )
        self._owns_clock = clock is None and log is None
        # Explicit None checks: an empty ObservationLog is falsy (it has __len__).
        if clock is None:
            clock = log.clock if log is not None else Clock()
        self.clock = clock
        self.log = log if log is not None else ObservationLog(clock)
        self.timeouts = Timeouts(call_timeout, dial_timeout, prestart_timeout, response_budget, grace_period)
        pod_devices = PodDevices()
        self._manager = DeviceManager(self.socket_dir, clock, self.log, profile, self.timeouts, pod_devices)
        self._registration = RegistrationServer(self._manager, self.socket_path, listen_path, max_workers)
        allocator = DeviceAllocator(self._manager, pod_devices)
        self._admitter = PodAdmitter(self._manager, pod_devices, allocator)
        self._pod_devices = pod_devices
        self.profile = profile
        self.checkpoint_path = self._manager.checkpoint_path
        self.max_workers = max_workers

    # The kubelet's settings, as attributes (read by tests to advance the clock past a deadline).
    @property
    def call_timeout(self) -> float:
        return self.timeouts.call

    @property
    def dial_timeout(self) -> float:
        return self.timeouts.dial

    @property
    def prestart_timeout(self) -> float:
        return self.timeouts.prestart

    @property
    def response_budget(self) -> float:
        return self.timeouts.response_budget

    @property
    def grace_period(self) -> float:
        return self.timeouts.grace_period

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeKubelet:
        if not self.serving:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def serving(self) -> bool:
        with self._manager.lock:
            return self._manager.serving

    def start(self) -> None:
        """Start as the kubelet does: read the checkpoint, delete every socket, listen anew."""
        self._start()

    def stop(self) -> None:
        """Stop serving: disconnect plugins, write the checkpoint, remove kubelet.sock."""
        self._stop("stop")

    def crash(self) -> None:
        """Die without cleaning up: plugins disconnected, a stale kubelet.sock left behind."""
        self._stop("crash")

    def restart(self) -> None:
        """A kubelet restart: stop, then start (sockets removed, checkpoint re-read, endpoints stopped)."""
        if self.serving:
            self._stop("stop", reason="restart")
        self._start(restart=True)

    def close(self, remove_dir: bool | None = None) -> None:
        """Tear everything down: stop if serving, join threads, remove our socket (and our temp dir)."""
        if self._manager.closed:
            return
        if self.serving:
            self._stop("stop", reason="close")
        self._manager.close()
        self._registration.close()
        if remove_dir if remove_dir is not None else self._owns_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self._owns_clock:
            self.clock.close()

    def _start(self, restart: bool = False) -> None:
        manager = self._manager
        with manager.lock:
            if manager.closed:
                raise RuntimeError("this FakeKubelet is closed; make a new one")
            if manager.serving:
                raise RuntimeError(f"the kubelet is already serving {self.socket_path}; stop() it first")
        os.makedirs(self.socket_dir, mode=0o750, exist_ok=True)
        with manager.events() as events, manager.lock:
            checkpoint = manager.restore()
            removed = self._registration.listen()
            if restart:
                events.add("restart", {"removed_sockets": removed, "checkpoint": checkpoint})
            events.add(
                "start", {"socket": self.socket_path, "removed_sockets": removed, "checkpoint": checkpoint}
            )
            manager.start_serving(events)

    def _stop(self, kind: str, reason: str | None = None) -> None:
        manager = self._manager
        events = manager.events()
        with manager.lock:
            if not manager.serving:
                raise RuntimeError("the kubelet is not serving; start() it first")
            manager.stop_serving(crash=kind == "crash")
            detached = self._registration.detach()
            events.add(kind, {"reason": reason} if reason else {})
        self._registration.shut_down(detached, unlink_socket=kind != "crash")
        events.publish()
        detached.join()

    # -- pods ----------------------------------------------------------------------------------
    def admit(self, pod: Pod) -> Admission:
        """Admit ``pod``: allocate devices for each container, or fail as the kubelet would."""
        return self._admitter.admit(pod)

    def start_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Start (or restart) a container: PreStartContainer when required, then its run options."""
        return self._admitter.start_container(pod, container)

    def restart_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Restart a started container: the cached allocation is reused, PreStart runs again."""
        return self._admitter.restart_container(pod, container)

    def delete_pod(self, pod: str | Pod) -> None:
        """The pod ends: its devices are free for other pods."""
        self._admitter.delete_pod(pod)

    def pods(self) -> list[str]:
        return self._admitter.pods()

    def allocations(self, pod: str | Pod) -> list[ContainerAllocation]:
        """The cached allocations of a pod (after a restart: those read from the checkpoint)."""
        return self._admitter.allocations(pod)

    def allocated_devices(self, resource: str) -> set[str]:
        return self._pod_devices.in_use(resource)

    # -- state -------------------------------------------------------------------------------
    @property
    def violations(self) -> list[Violation]:
        return self._manager.violations

    def capacity(self, name: str) -> int:
        with self._manager.lock:
            return (self._manager.table.counts(name) or (0, 0))[0]

    def allocatable(self, name: str) -> int:
        with self._manager.lock:
            return (self._manager.table.counts(name) or (0, 0))[1]

    def resources(self) -> dict[str, ResourceState]:
        table = self._manager.table
        with self._manager.lock:
            return {name: table.snapshot(name) for name in table.names()}

    def resource(self, name: str) -> ResourceState:
        table = self._manager.table
        with self._manager.lock:
            known = table.names()
            if name not in known:
                raise KeyError(f"the kubelet knows no resource {name!r}; it knows {known}")
            return table.snapshot(name)

    # -- waiting -----------------------------------------------------------------------------
    def wait_until(self, predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Wait (clock deadline, woken by every kubelet event) until ``predicate()`` is truthy."""
        return self.log.wait_for(predicate, timeout, what)

    def wait_for_allocatable(self, resource: str, n: int, timeout: float = 10.0) -> int:
        self.wait_until(
            lambda: self.allocatable(resource) == n,
            timeout,
            f"{resource} allocatable {n} (now {self.allocatable(resource)})",
        )
        return n

    def wait_for_capacity(self, resource: str, n: int, timeout: float = 10.0) -> int:
        self.wait_until(
            lambda: self.capacity(resource) == n,
            timeout,
            f"{resource} capacity {n} (now {self.capacity(resource)})",
        )
        return n

    def wait_for_event(
        self, kind: str, timeout: float = 10.0, since: int = 0, where: Callable[[Event], bool] | None = None
    ) -> Event:
        """The first kubelet event of ``kind`` after seq ``since`` that satisfies ``where``."""

        def found() -> Event | None:
            for event in self.log.events(source=SOURCE, kind=kind, since=since):
                if where is None or where(event):
                    return event
            return None

        return cast(Event, self.wait_until(found, timeout, f"a kubelet {kind!r} event after #{since}"))

    def wait_for_registration(self, resource: str, timeout: float = 10.0, since: int = 0) -> Event:
        """The next accepted Register for ``resource`` after seq ``since``."""
        return self.wait_for_event(
            "register", timeout, since, lambda e: e.data["resource"] == resource and e.data["accepted"]
        )
