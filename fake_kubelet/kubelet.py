"""FakeKubelet: the kubelet's device manager in-process, with its registration server.

It behaves as the kubelet does where plugins can tell (see docs/fake-kubelet.md):
Register is synchronous and dials back; ListAndWatch is never retried; a lost stream
makes every device unhealthy and, after the grace period on the scenario clock,
drops capacity to 0; a restart deletes every socket but the checkpoint and admits the
active pods again. Everything it sees goes to the observation log as ``"kubelet"`` events.

This class is the façade: it builds the collaborators (device manager, registration
server, plugin watcher, allocation cache, allocator, CPU manager, TopologyManager, pod
admitter, pod workers, podresources server), runs the process lifecycle, and answers
questions about state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar, cast

from deviceplugin.v1beta1 import KUBELET_SOCKET_NAME, MAX_UNIX_SOCKET_PATH, PRE_START_CONTAINER_TIMEOUT_S
from fake_kubelet.admission import PodAdmitter
from fake_kubelet.allocator import DeviceAllocator
from fake_kubelet.contract import Violation
from fake_kubelet.cpu_manager import CpuManager
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import ENDPOINT_STOP_GRACE_PERIOD_S, PROFILES, DeviceManager, Timeouts
from fake_kubelet.numa import TopologyHint
from fake_kubelet.plugin_watcher import PluginWatcher
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pod_manager import SUCCEEDED, PodManager
from fake_kubelet.pod_status import PodStatus, PodStatusReporter
from fake_kubelet.pod_workers import PodWorkers
from fake_kubelet.podresources import PodResourcesServer
from fake_kubelet.pods import Admission, ContainerAllocation, ContainerStart, Pod
from fake_kubelet.process import KubeletProcess
from fake_kubelet.registration import RegistrationServer
from fake_kubelet.run_options import RunOptions
from fake_kubelet.state import ResourceState
from fake_kubelet.topology_manager import TopologyPolicy
from fake_kubelet.versions import DEFAULT_VERSION
from fake_kubelet.versions import feature_gates as resolve_gates
from simkit import Clock, Event, ObservationLog

__all__ = ["ENDPOINT_STOP_GRACE_PERIOD_S", "PROFILES", "FakeKubelet"]

T = TypeVar("T")


class FakeKubelet:
    """The kubelet's device manager on ``<socket_dir>/kubelet.sock``.

    ``profile="resource"`` keys endpoints by resource name (kubelet 1.26 up to the
    #135437 change, including bug #121994); ``"resource+socket"`` by (resource, socket
    path) as newer kubelets do. ``version`` and ``feature_gates`` choose the gates a
    plugin can observe (docs/fake-kubelet.md). Timeouts are clock seconds:
    ``dial_timeout`` and ``prestart_timeout`` are the kubelet's; ``call_timeout`` is ours
    for the calls the kubelet leaves unbounded, so a hung plugin gets a verdict.
    ``topology_policy``/``topology_scope`` configure the TopologyManager over
    ``numa_nodes`` (default: the keys of ``cpus_per_numa``, else node 0).
    ``podresources_socket`` serves the podresources API there; ``plugins_registry``
    installs the plugin watcher on that directory. ``readmit_delay``: clock seconds after a
    restart before the active pods are admitted again (0: before any plugin can register).
    """

    def __init__(
        self,
        socket_dir: str | None = None,
        *,
        clock: Clock | None = None,
        log: ObservationLog | None = None,
        profile: str = "resource",
        version: str = DEFAULT_VERSION,
        feature_gates: dict[str, bool] | None = None,
        call_timeout: float = 10.0,
        dial_timeout: float = 10.0,
        prestart_timeout: float = PRE_START_CONTAINER_TIMEOUT_S,
        response_budget: float = 1.0,
        grace_period: float = ENDPOINT_STOP_GRACE_PERIOD_S,
        topology_policy: str = "none",
        topology_scope: str = "container",
        numa_nodes: Iterable[int] | None = None,
        cpus_per_numa: dict[int, int] | None = None,
        podresources_socket: str | None = None,
        plugins_registry: str | None = None,
        readmit_delay: float = 0.0,
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
        self.version = version
        self.feature_gates = resolve_gates(version, feature_gates)
        self.timeouts = Timeouts(call_timeout, dial_timeout, prestart_timeout, response_budget, grace_period)
        cpus = dict(cpus_per_numa or {})
        nodes = tuple(sorted(numa_nodes if numa_nodes is not None else (cpus or {0: 0})))
        self.topology = TopologyPolicy(topology_policy, topology_scope, nodes)
        self.readmit_delay = readmit_delay
        pod_devices = PodDevices()
        self._pod_devices = pod_devices
        self._pods = PodManager()
        self._manager = DeviceManager(self.socket_dir, clock, self.log, profile, self.timeouts, pod_devices)
        self._registration = RegistrationServer(self._manager, self.socket_path, listen_path, max_workers)
        allocator = DeviceAllocator(self._manager, pod_devices)
        self._admitter = PodAdmitter(
            self._manager, pod_devices, allocator, self._pods, self.topology, CpuManager(cpus)
        )
        run_options = RunOptions(self._manager, pod_devices, allocator)
        self._workers = PodWorkers(self._manager, self._admitter, run_options, self._pods)
        self._status = PodStatusReporter(self._manager, pod_devices, self._pods, self.feature_gates)
        if self._status.enabled:
            self._manager.on_health_change = self._status.health_changed
        self.podresources_socket = podresources_socket
        self._podresources = (
            PodResourcesServer(
                self._manager,
                pod_devices,
                self._pods,
                self.feature_gates,
                podresources_socket,
                self._admitter.collect_garbage,
            )
            if podresources_socket
            else None
        )
        self.plugins_registry = plugins_registry
        self._watcher = (
            PluginWatcher(self._manager, self._registration, plugins_registry) if plugins_registry else None
        )
        self._async = ThreadPoolExecutor(max_workers=2, thread_name_prefix="fake-kubelet-pods")
        self._in_flight: dict[tuple[str, str | None], Future[Any]] = {}
        self._process = KubeletProcess(
            self._manager, self._registration, self._workers, self._podresources, self._watcher, readmit_delay
        )
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
        self._process.start()

    def stop(self) -> None:
        """Stop serving: disconnect plugins, write the checkpoint, remove kubelet.sock."""
        self._process.stop("stop")

    def crash(self) -> None:
        """Die without cleaning up: plugins disconnected, a stale kubelet.sock left behind."""
        self._process.stop("crash")

    def restart(self) -> None:
        """A kubelet restart: stop, then start (sockets removed, checkpoint re-read, pods admitted again)."""
        if self.serving:
            self._process.stop("stop", reason="restart")
        self._process.start(restart=True)

    def reboot(self) -> None:
        """A node reboot: the kubelet stops, every container is gone, the kubelet starts and
        admits the active pods again (containers that do not run get their devices checked)."""
        if self.serving:
            self._process.stop("stop", reason="reboot")
        self._workers.stop_all_containers()
        self._process.start(restart=True)

    def close(self, remove_dir: bool | None = None) -> None:
        """Tear everything down: stop if serving, join threads, remove our socket (and our temp dir)."""
        if self._manager.closed:
            return
        if self.serving:
            self._process.stop("stop", reason="close")
        self._manager.close()
        self._async.shutdown(wait=True)
        self._process.join()
        self._registration.close()
        if remove_dir if remove_dir is not None else self._owns_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self._owns_clock:
            self.clock.close()

    # -- pods ----------------------------------------------------------------------------------
    def admit(self, pod: Pod) -> Admission:
        """Admit ``pod``: align and allocate its resources, or fail as the kubelet would."""
        return self._admitter.admit(pod)

    def admit_async(self, pod: Pod) -> Future[Admission]:
        """Admit on a worker thread, so the clock can move while a plugin call hangs."""
        future = self._async.submit(self._admitter.admit, pod)
        self._in_flight[(pod.name, None)] = future
        return future

    def start_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Start (or restart) a container: PreStartContainer when required, then its run options."""
        return self._workers.start_container(pod, container)

    def start_container_async(self, pod: str | Pod, container: str) -> Future[ContainerStart]:
        future = self._async.submit(self._workers.start_container, pod, container)
        self._in_flight[(pod.name if isinstance(pod, Pod) else pod, container)] = future
        return future

    def in_flight(self, pod: str, container: str | None = None) -> Future[Any] | None:
        """The last background admission (or, with ``container``, container start) of a pod."""
        return self._in_flight.get((pod, container))

    def restart_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Restart a started container: the cached allocation is reused, PreStart runs again."""
        return self._workers.restart_container(pod, container)

    def stop_container(self, pod: str | Pod, container: str) -> None:
        """The container exits and waits for a restart (it keeps its devices)."""
        self._workers.stop_container(pod, container)

    def complete_pod(self, pod: str | Pod, phase: str = SUCCEEDED) -> None:
        """The pod ran to completion (Succeeded or Failed): not active, its devices free."""
        self._workers.complete_pod(pod, phase)

    def delete_pod(self, pod: str | Pod) -> None:
        """The pod is deleted; its devices are free (once the kubelet runs, if it is down)."""
        self._workers.delete_pod(pod)

    def pods(self) -> list[str]:
        """The active pods (admitted and not ended)."""
        return self._workers.names()

    def pod_status(self, pod: str | Pod) -> PodStatus:
        """Phase, reason and container statuses (with allocatedResourcesStatus under its gate)."""
        name = pod.name if isinstance(pod, Pod) else pod
        record = self._pods.get(name)
        if record is None:
            raise KeyError(f"the kubelet knows no pod {name!r}")
        return self._status.status(record)

    def allocations(self, pod: str | Pod) -> list[ContainerAllocation]:
        """The cached allocations of a pod (after a restart: those read from the checkpoint; none
        for a pod that ended or was rejected)."""
        name = pod.name if isinstance(pod, Pod) else pod
        record = self._pods.get(name)
        if record is None:
            raise KeyError(f"pod {name!r} is not known to this kubelet; active pods: {self.pods()}")
        return self._pod_devices.pod_allocations(record.pod)

    def allocated_devices(self, resource: str) -> set[str]:
        return self._pod_devices.in_use(resource)

    def topology_hint(self, pod: str | Pod, container: str) -> TopologyHint | None:
        """The NUMA affinity the TopologyManager stored for the container (None: none)."""
        return self._admitter.hint(self._workers.record(pod).pod, container)

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

    def on_node(self, name: str) -> bool:
        """The node status has the resource at all (``absent`` is distinct from ``0``)."""
        with self._manager.lock:
            return self._manager.table.counts(name) is not None

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
