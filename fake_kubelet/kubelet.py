"""FakeKubelet: the kubelet's device manager in-process, with its registration server.

It behaves as the kubelet does where plugins can tell (see docs/fake-kubelet.md):
Register is synchronous and dials back; ListAndWatch is never retried; a lost stream
makes every device unhealthy and, after the grace period on the scenario clock,
drops capacity to 0; a restart deletes every socket but the checkpoint. Everything it
sees goes to the observation log as ``"kubelet"`` events.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from concurrent import futures
from typing import Any, NoReturn, TypeVar

import grpc

from deviceplugin.v1beta1 import (
    CHECKPOINT_FILE_NAME,
    HEALTHY,
    KUBELET_SOCKET_NAME,
    MAX_UNIX_SOCKET_PATH,
    PRE_START_CONTAINER_TIMEOUT_S,
    UNHEALTHY,
    api_pb2_grpc,
    unix_target,
)
from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet import contract
from fake_kubelet.admission import AdmissionMixin
from fake_kubelet.contract import Violation
from fake_kubelet.endpoint import Endpoint, PluginClient
from fake_kubelet.errors import PluginCallError, from_rpc_error
from fake_kubelet.names import registration_error
from fake_kubelet.responses import device_to_dict
from fake_kubelet.rpc import DIAL_ERROR, call_unary, dial
from fake_kubelet.state import DeviceState, EndpointState, ResourceState
from simkit import Clock, Event, ObservationLog

T = TypeVar("T")

PROFILES = ("resource", "resource+socket")
ENDPOINT_STOP_GRACE_PERIOD_S = 300.0
SOURCE = "kubelet"
_JOIN_TIMEOUT_S = 2.0


class _Resource:
    """The manager's per-resource state: endpoints and the device sets of the last ListAndWatch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.endpoints: dict[str, Endpoint] = {}  # socket path -> endpoint, oldest first
        self.devices: dict[str, dict[str, Any]] = {}
        self.healthy: set[str] = set()
        self.unhealthy: set[str] = set()
        self.reported = False  # the kubelet has device sets for it (its healthyDevices key exists)

    @property
    def active(self) -> Endpoint | None:
        """The endpoint calls go to: the newest live one, else the newest."""
        live = [e for e in self.endpoints.values() if not e.stopped]
        if live:
            return live[-1]
        return list(self.endpoints.values())[-1] if self.endpoints else None


class FakeKubelet(AdmissionMixin):
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
        if profile not in PROFILES:
            raise ValueError(f"unknown kubelet profile {profile!r}; choose one of {list(PROFILES)}")
        self._owns_dir = socket_dir is None
        self.socket_dir = os.path.abspath(socket_dir or tempfile.mkdtemp(prefix="fk", dir="/tmp"))
        self.socket_path = os.path.join(self.socket_dir, KUBELET_SOCKET_NAME)
        self.checkpoint_path = os.path.join(self.socket_dir, CHECKPOINT_FILE_NAME)
        # Where gRPC really listens; kubelet.sock is a hard link to it (see _start). A directory,
        # so the kubelet's own socket cleanup of socket_dir leaves it alone.
        self._listen_path = os.path.join(self.socket_dir, ".kubelet", KUBELET_SOCKET_NAME)
        if len(self._listen_path.encode()) > MAX_UNIX_SOCKET_PATH:
            raise ValueError(
                f"kubelet socket path {self._listen_path!r} is {len(self._listen_path.encode())} bytes; unix "
                f"sockets allow at most {MAX_UNIX_SOCKET_PATH}. Use a short directory, e.g. "
                "tempfile.mkdtemp(prefix='fk', dir='/tmp'), or leave socket_dir unset."
            )
        self._owns_clock = clock is None and log is None
        # Explicit None checks: an empty ObservationLog is falsy (it has __len__).
        if clock is None:
            clock = log.clock if log is not None else Clock()
        self.clock = clock
        self.log = log if log is not None else ObservationLog(clock)
        self.profile = profile
        self.call_timeout = call_timeout
        self.dial_timeout = dial_timeout
        self.prestart_timeout = prestart_timeout
        self.response_budget = response_budget
        self.grace_period = grace_period
        self.max_workers = max_workers

        self._lock = threading.RLock()
        self._server: grpc.Server | None = None
        self._generation = 0  # bumped on every stop: work of an older kubelet "process" is dropped
        self._serving = False
        self._closed = False
        self._clients: dict[Any, PluginClient] = {}
        self._resources: dict[str, _Resource] = {}
        self._removed: set[str] = set()  # node status keys kept at capacity 0
        self._last_capacity: dict[str, tuple[int, int]] = {}
        self._violations: list[Violation] = []
        self._all_clients: list[PluginClient] = []
        AdmissionMixin.__init__(self)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeKubelet:
        if not self._serving:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def serving(self) -> bool:
        with self._lock:
            return self._serving

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
        if self._closed:
            return
        if self.serving:
            self._stop("stop", reason="close")
        with self._lock:
            self._closed = True
            clients = list(self._all_clients)
            self._all_clients.clear()
            for res in self._resources.values():
                for ep in res.endpoints.values():
                    ep.cancel_grace()
        for client in clients:
            client.disconnect()
        for client in clients:
            client.join(_JOIN_TIMEOUT_S)
        for path in (self.socket_path, self._listen_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(self._listen_path))
        if remove_dir if remove_dir is not None else self._owns_dir:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self._owns_clock:
            self.clock.close()

    def _start(self, restart: bool = False) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("this FakeKubelet is closed; make a new one")
            if self._serving:
                raise RuntimeError(f"the kubelet is already serving {self.socket_path}; stop() it first")
        os.makedirs(self.socket_dir, mode=0o750, exist_ok=True)
        pending: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            checkpoint_info = self._read_checkpoint()
            removed = self._cleanup_sockets()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)  # listen(): a stale kubelet.sock goes before the new one
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="fake-kubelet")
            )
            api_pb2_grpc.add_RegistrationServicer_to_server(_Registration(self), server)
            # gRPC unlinks the socket it listens on when it stops, which a crashed kubelet never does.
            # So it listens on a private path and kubelet.sock is a hard link to that socket: one
            # CREATE event for kubelet.sock, and a stop() or crash() decides whether it goes.
            os.makedirs(os.path.dirname(self._listen_path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._listen_path)
            server.add_insecure_port(unix_target(self._listen_path))
            server.start()
            os.link(self._listen_path, self.socket_path)
            self._server = server
            self._serving = True
            if restart:
                pending.append(("restart", {"removed_sockets": removed, "checkpoint": checkpoint_info}))
            pending.append(
                (
                    "start",
                    {"socket": self.socket_path, "removed_sockets": removed, "checkpoint": checkpoint_info},
                )
            )
            self._capacity_events(pending)
        self._publish(pending)

    def _stop(self, kind: str, reason: str | None = None) -> None:
        pending: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            if not self._serving:
                raise RuntimeError("the kubelet is not serving; start() it first")
            self._serving = False
            self._generation += 1
            server, self._server = self._server, None
            clients = list(self._clients.values())
            self._clients.clear()
            for res in self._resources.values():
                for ep in res.endpoints.values():
                    ep.cancel_grace()
            if kind != "crash":
                self._write_checkpoint()
            # The process is gone: in-memory device state with it (the node status stays).
            self._resources.clear()
            pending.append((kind, {"reason": reason} if reason else {}))
        # A stopping kubelet is a dying process: it takes no Register any more from the moment its
        # streams break (a plugin reacting to the broken stream must not find it still answering).
        if kind != "crash":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)  # Go's listener close unlinks kubelet.sock; a crash leaves it
        stopped = server.stop(None) if server is not None else None
        for client in clients:
            client.disconnect()
        if stopped is not None:
            stopped.wait(_JOIN_TIMEOUT_S)
        self._publish(pending)
        for client in clients:
            client.join(_JOIN_TIMEOUT_S)

    def _cleanup_sockets(self) -> list[str]:
        """CleanupPluginDirectory: unlink every unix socket in the dir; other files stay."""
        removed = []
        for name in sorted(os.listdir(self.socket_dir)):
            path = os.path.join(self.socket_dir, name)
            if name == CHECKPOINT_FILE_NAME:
                continue
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(name)
            except FileNotFoundError:
                continue
        return removed

    # -- checkpoint --------------------------------------------------------------------------
    def _read_checkpoint(self) -> dict[str, Any]:
        """readCheckpoint: restore allocations and registered resources as stopped endpoints."""
        self._resources.clear()
        self._clients.clear()
        info: dict[str, Any] = {"found": False, "error": None, "resources": [], "entries": 0}
        data: ckpt.Checkpoint | None = None
        if os.path.exists(self.checkpoint_path):
            info["found"] = True
            try:
                data = ckpt.read(self.checkpoint_path)
            except (ckpt.CheckpointError, OSError) as error:
                info["error"] = str(error)
        self._restore_allocations(data.entries if data else [])
        if data is not None:
            info["entries"] = len(data.entries)
            info["resources"] = sorted(data.registered)
            now = self.clock.now()
            for name in data.registered:
                res = _Resource(name)
                res.reported = True  # empty sets: capacity 0 until the plugin re-registers
                ep = Endpoint(name, "", "", None, None, stop_time=now)
                res.endpoints[""] = ep
                self._resources[name] = res
                self._start_grace(ep)
                self._removed.discard(name)
        # Resources the node still shows but the kubelet no longer knows: reset to 0.
        for name in self._last_capacity:
            if name not in self._resources:
                self._removed.add(name)
        return info

    def _checkpoint_data(self) -> ckpt.Checkpoint:
        entries = [
            ckpt.PodDeviceEntry(uid, container, resource, dict(a.numa), a.response)
            for (uid, container, resource), a in sorted(self._allocs.items())
        ]
        registered = {name: sorted(r.healthy) for name, r in sorted(self._resources.items()) if r.reported}
        return ckpt.Checkpoint(entries, registered)

    def _write_checkpoint(self) -> None:
        with self._lock:
            if self._closed or not os.path.isdir(self.socket_dir):
                return
            ckpt.write(self.checkpoint_path, self._checkpoint_data())

    # -- events ------------------------------------------------------------------------------
    def _publish(self, pending: list[tuple[str, dict[str, Any]]]) -> None:
        """Append collected events after the state lock is released (see architecture.md)."""
        for kind, data in pending:
            self.log.append(SOURCE, kind, **data)
        if not pending:
            self.log.touch()

    def _violation(self, pending: list, rule: str, resource: str, detail: str) -> None:
        with self._lock:
            self._violations.append(Violation(rule, resource, detail, self.clock.now()))
        pending.append(("violation", {"rule": rule, "resource": resource, "detail": detail}))

    @property
    def violations(self) -> list[Violation]:
        with self._lock:
            return list(self._violations)

    def _counts(self, name: str) -> tuple[int, int] | None:
        res = self._resources.get(name)
        if res is not None and res.reported:
            return len(res.healthy) + len(res.unhealthy), len(res.healthy)
        if name in self._removed:
            return 0, 0
        return None

    def _capacity_events(self, pending: list) -> None:
        for name in sorted(set(self._resources) | self._removed):
            counts = self._counts(name)
            if counts is None or self._last_capacity.get(name) == counts:
                continue
            self._last_capacity[name] = counts
            pending.append(("capacity", {"resource": name, "capacity": counts[0], "allocatable": counts[1]}))

    # -- registration ------------------------------------------------------------------------
    def _key(self, resource: str, socket_path: str) -> Any:
        return resource if self.profile == "resource" else (resource, socket_path)

    def _aborter(self, generation: int) -> Callable[[], bool]:
        return lambda: self._generation != generation or self._closed

    def _register(self, request: pb.RegisterRequest, context: grpc.ServicerContext) -> pb.Empty:
        with self._lock:
            generation = self._generation
            serving = self._serving
        if not serving:  # caught between stop() and the server's shutdown: the process is gone
            context.abort(grpc.StatusCode.UNAVAILABLE, "the kubelet is shutting down")
        resource, version, endpoint = request.resource_name, request.version, request.endpoint
        socket_path = os.path.normpath(self.socket_dir + "/" + endpoint)  # Go's filepath.Join
        pending: list = []

        def reject(reason: str, detail: str | None = None) -> NoReturn:
            data = {"resource": resource, "endpoint": endpoint, "version": version, "accepted": False}
            data["reason"] = reason
            if detail:
                data["detail"] = detail
            pending.append(("register", data))
            self._publish(pending)
            context.abort(grpc.StatusCode.UNKNOWN, reason)

        error = registration_error(version, resource)
        if error is not None:
            reject(error)
        key = self._key(resource, socket_path)
        with self._lock:
            if self.profile == "resource+socket" and key in self._clients:
                already = f"device plugin already connected: {socket_path}"
            else:
                already = None
        if already:
            reject(already)
        if len(socket_path.encode()) > MAX_UNIX_SOCKET_PATH:
            reject(DIAL_ERROR, f"socket path {socket_path!r} exceeds {MAX_UNIX_SOCKET_PATH} bytes")
        client = PluginClient(resource, endpoint, socket_path, generation)
        with self._lock:
            self._clients[key] = client
            self._all_clients.append(client)
        aborted = self._aborter(generation)

        def forget_client() -> None:
            with self._lock:
                # The kubelet deletes the client by name, whoever holds it now.
                if self.profile == "resource" or self._clients.get(key) is client:
                    self._clients.pop(key, None)
            client.disconnect()

        try:
            client.attach(dial(self.clock, socket_path, self.dial_timeout, aborted))
        except PluginCallError as failure:
            forget_client()
            reject(str(failure))
        try:
            options = self._call(pending, resource, client, "GetDevicePluginOptions", pb.Empty())
        except PluginCallError as failure:
            forget_client()
            pending.append(("options", _options_data(resource, endpoint, None, str(failure))))
            reject(f"failed to get device plugin options: {failure}")
        pending.append(("options", _options_data(resource, endpoint, options, None)))
        if request.HasField("options") and (
            request.options.pre_start_required != options.pre_start_required
            or request.options.get_preferred_allocation_available
            != options.get_preferred_allocation_available
        ):
            self._violation(
                pending,
                contract.OPTIONS_MISMATCH,
                resource,
                "RegisterRequest.options differ from GetDevicePluginOptions; the kubelet ignores "
                "the former and uses the latter",
            )
        with self._lock:
            if self._generation != generation:
                stale = True
            else:
                stale = False
                self._plugin_connected(client, options, pending)
                accepted = {"resource": resource, "endpoint": endpoint, "version": version}
                pending.append(("register", {**accepted, "accepted": True, "reason": None}))
        if stale:
            client.disconnect()
            reject("the kubelet stopped while registering the plugin")
        self._publish(pending)
        client.thread = threading.Thread(
            target=self._run_client, args=(client,), name=f"fake-kubelet-law-{resource}", daemon=True
        )
        client.thread.start()
        return pb.Empty()

    def _plugin_connected(self, client: PluginClient, options: pb.DevicePluginOptions, pending: list) -> None:
        res = self._resources.get(client.resource)
        if res is None:
            res = self._resources[client.resource] = _Resource(client.resource)
        endpoint = Endpoint(client.resource, client.socket_path, client.endpoint, client, options)
        if self.profile == "resource":
            for old in res.endpoints.values():
                old.cancel_grace()
            res.endpoints = {client.socket_path: endpoint}
        else:
            for path, old in list(res.endpoints.items()):
                if old.stopped or path == client.socket_path:
                    old.cancel_grace()
                    del res.endpoints[path]
            res.endpoints[client.socket_path] = endpoint

    def _run_client(self, client: PluginClient) -> None:
        try:
            self._read_stream(client)
        finally:
            client.disconnect()  # idempotent; frees the channel of a client nobody holds any more
            with self._lock:
                if client in self._all_clients:
                    self._all_clients.remove(client)

    def _read_stream(self, client: PluginClient) -> None:
        reason = "the plugin ended the stream"
        try:
            stream = client.open_stream()
            if stream is None:
                return
            for response in stream:
                self._on_devices(client, response)
        except grpc.RpcError as error:
            reason = str(from_rpc_error(error))
        except Exception as error:  # never let the reader thread die silently
            reason = f"reading the stream failed: {error!r}"
        self._on_stream_end(client, reason)

    def _on_devices(self, client: PluginClient, response: pb.ListAndWatchResponse) -> None:
        pending: list = []
        with self._lock:
            if client.generation != self._generation or self._closed:
                return
            res = self._resources.get(client.resource)
            if res is None:
                res = self._resources[client.resource] = _Resource(client.resource)
            for rule, detail in contract.check_device_list(list(response.devices)):
                self._violation(pending, rule, client.resource, detail)
            devices = {d.ID: device_to_dict(d) for d in response.devices}
            healthy = {d.ID for d in response.devices if d.health == HEALTHY}
            unhealthy = {d.ID for d in response.devices if d.health != HEALTHY}
            old = res.devices
            added = sorted(set(devices) - set(old))
            removed = sorted(set(old) - set(devices))
            changed = sorted(i for i in set(devices) & set(old) if devices[i] != old[i])
            res.devices, res.healthy, res.unhealthy, res.reported = devices, healthy, unhealthy, True
            self._removed.discard(client.resource)
            pending.append(
                (
                    "devices",
                    {
                        "resource": client.resource,
                        "endpoint": client.endpoint,
                        "devices": list(devices.values()),
                        "added": added,
                        "removed": removed,
                        "changed": changed,
                    },
                )
            )
            self._capacity_events(pending)
            self._write_checkpoint()
        self._publish(pending)

    def _on_stream_end(self, client: PluginClient, reason: str) -> None:
        pending: list = []
        victim: PluginClient | None = None
        with self._lock:
            if client.generation != self._generation or self._closed:
                return  # the kubelet itself went away; nothing of it is left to update
            data: dict[str, Any] = {
                "resource": client.resource,
                "endpoint": client.endpoint,
                "reason": reason,
            }
            if self.profile == "resource":
                # runClient looks the client up by name again: when a newer plugin registered the
                # same resource meanwhile, it is the newer one that gets disconnected (#121994).
                victim = self._clients.pop(client.resource, None)
            else:
                key = self._key(client.resource, client.socket_path)
                if self._clients.get(key) is client:
                    victim = self._clients.pop(key)
            if victim is not None:
                data["disconnected_endpoint"] = victim.endpoint
            pending.append(("stream_end", data))
            if victim is not None:
                self._plugin_disconnected(victim, pending)
        self._publish(pending)
        if victim is not None:
            victim.disconnect()

    def _plugin_disconnected(self, client: PluginClient, pending: list) -> None:
        res = self._resources.get(client.resource)
        if res is None:
            return
        if self.profile == "resource":
            endpoint = res.active
        else:
            endpoint = res.endpoints.get(client.socket_path)
            if endpoint is None:
                return
            survivors = [e for e in res.endpoints.values() if not e.stopped and e is not endpoint]
            if survivors:
                del res.endpoints[client.socket_path]  # a live instance takes over; devices stay healthy
                return
        if endpoint is None:
            return
        res.unhealthy |= res.healthy
        res.healthy = set()
        endpoint.stop(self.clock.now())
        self._start_grace(endpoint)
        self._capacity_events(pending)

    def _start_grace(self, endpoint: Endpoint) -> None:
        generation = self._generation
        endpoint.cancel_grace()
        endpoint.grace_timer = self.clock.call_later(
            self.grace_period, lambda: self._grace_expired(endpoint, generation)
        )

    def _grace_expired(self, endpoint: Endpoint, generation: int) -> None:
        pending: list = []
        with self._lock:
            if generation != self._generation or self._closed:
                return
            res = self._resources.get(endpoint.resource)
            if res is None or res.active is not endpoint or not endpoint.stopped:
                return
            del self._resources[endpoint.resource]
            self._removed.add(endpoint.resource)
            pending.append(("endpoint_removed", {"resource": endpoint.resource}))
            self._capacity_events(pending)
            self._write_checkpoint()
        self._publish(pending)

    def _call(
        self,
        pending: list,
        resource: str,
        client: PluginClient,
        method: str,
        request: Any,
        timeout: float | None = None,
    ) -> Any:
        """Call ``method`` on the plugin with a deadline (given up when the kubelet stops);
        record deadline and response-time violations."""
        timeout = self.call_timeout if timeout is None else timeout
        started = self.clock.now()
        fn = getattr(client.stub, method)
        try:
            return call_unary(self.clock, fn, request, timeout, self._aborter(client.generation))
        except PluginCallError as failure:
            if failure.deadline:
                self._violation(
                    pending, contract.DEADLINE, resource, f"{method} did not answer within {timeout:g}s"
                )
            raise
        finally:
            elapsed = self.clock.now() - started
            if elapsed > self.response_budget and elapsed < timeout:
                self._violation(
                    pending,
                    contract.RESPONSE_TIME,
                    resource,
                    f"{method} took {elapsed:.3f}s; the budget is {self.response_budget:g}s",
                )

    # -- state -------------------------------------------------------------------------------
    def capacity(self, name: str) -> int:
        with self._lock:
            counts = self._counts(name)
            return counts[0] if counts else 0

    def allocatable(self, name: str) -> int:
        with self._lock:
            counts = self._counts(name)
            return counts[1] if counts else 0

    def resources(self) -> dict[str, ResourceState]:
        with self._lock:
            names = sorted(set(self._resources) | self._removed)
            return {name: self._snapshot(name) for name in names}

    def resource(self, name: str) -> ResourceState:
        with self._lock:
            if name not in self._resources and name not in self._removed:
                known = sorted(set(self._resources) | self._removed)
                raise KeyError(f"the kubelet knows no resource {name!r}; it knows {known}")
            return self._snapshot(name)

    def _snapshot(self, name: str) -> ResourceState:
        res = self._resources.get(name)
        counts = self._counts(name) or (0, 0)
        if res is None:
            return ResourceState(name, counts[0], counts[1], [], None, [], removed=True)
        devices = [
            DeviceState(
                d["id"], HEALTHY if d["id"] in res.healthy else UNHEALTHY, list(d["numa"]), d["health"]
            )
            for d in res.devices.values()
        ]
        endpoints = [self._endpoint_state(e) for e in res.endpoints.values()]
        active = res.active
        return ResourceState(
            name, counts[0], counts[1], devices, self._endpoint_state(active) if active else None, endpoints
        )

    @staticmethod
    def _endpoint_state(e: Endpoint) -> EndpointState:
        return EndpointState(e.resource, e.socket_path, e.endpoint, e.options_dict(), e.stopped, e.stop_time)

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

        return self.wait_until(found, timeout, f"a kubelet {kind!r} event after #{since}")

    def wait_for_registration(self, resource: str, timeout: float = 10.0, since: int = 0) -> Event:
        """The next accepted Register for ``resource`` after seq ``since``."""
        return self.wait_for_event(
            "register", timeout, since, lambda e: e.data["resource"] == resource and e.data["accepted"]
        )


def _options_data(
    resource: str, endpoint: str, options: pb.DevicePluginOptions | None, error: str | None
) -> dict[str, Any]:
    return {
        "resource": resource,
        "endpoint": endpoint,
        "pre_start_required": options.pre_start_required if options else None,
        "get_preferred_allocation_available": options.get_preferred_allocation_available if options else None,
        "error": error,
    }


class _Registration(api_pb2_grpc.RegistrationServicer):
    def __init__(self, kubelet: FakeKubelet) -> None:
        self._kubelet = kubelet

    def Register(self, request: pb.RegisterRequest, context: grpc.ServicerContext) -> pb.Empty:
        return self._kubelet._register(request, context)
