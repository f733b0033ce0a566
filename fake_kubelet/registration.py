"""The registration server on kubelet.sock, and the ListAndWatch stream of each plugin it dialled.

The kubelet's plugin server (``plugin/v1beta1/server.go`` and ``handler.go``): Register
checks the request, dials back, asks for the options and hands the client to the device
manager; one reader thread per client feeds each ListAndWatch message to the manager and,
when the stream ends, disconnects the client the kubelet finds under that name.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc

from deviceplugin.v1beta1 import CHECKPOINT_FILE_NAME, MAX_UNIX_SOCKET_PATH, api_pb2_grpc, unix_target
from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import contract
from fake_kubelet.endpoint import PluginClient, read_ahead
from fake_kubelet.errors import PluginCallError, from_rpc_error
from fake_kubelet.events import SOURCE, EventBatch
from fake_kubelet.manager import DeviceManager
from fake_kubelet.names import registration_error
from fake_kubelet.rpc import DIAL_ERROR, dial

JOIN_TIMEOUT_S = 2.0

ClientKey = str | tuple[str, str]  # resource, or (resource, socket path) in the "resource+socket" profile


@dataclass
class Detached:
    """What a stopping kubelet takes down: its gRPC server and the plugin clients it held."""

    server: grpc.Server | None
    clients: list[PluginClient] = field(default_factory=list)

    def join(self) -> None:
        for client in self.clients:
            client.join(JOIN_TIMEOUT_S)


class RegistrationServer:
    """Serves Registration on ``socket_path`` and keeps the clients of registered plugins."""

    def __init__(self, manager: DeviceManager, socket_path: str, listen_path: str, max_workers: int) -> None:
        self.manager = manager
        self.socket_path = socket_path
        self.socket_dir = os.path.dirname(socket_path)
        # Where gRPC really listens; kubelet.sock is a hard link to it (see listen). A directory,
        # so the kubelet's own socket cleanup of socket_dir leaves it alone.
        self.listen_path = listen_path
        self.max_workers = max_workers
        self._server: grpc.Server | None = None
        self._clients: dict[ClientKey, PluginClient] = {}  # the ones the kubelet finds by name
        self._all_clients: list[PluginClient] = []  # every client whose reader may still run

    # -- serving ---------------------------------------------------------------------------------
    def listen(self) -> list[str]:
        """Delete every socket in the dir but the checkpoint, then serve on the private path.

        Returns the names removed. Plugins cannot reach it until :meth:`publish`.
        """
        with self.manager.lock:
            self._clients.clear()
            removed = self._cleanup_sockets()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)  # listen(): a stale kubelet.sock goes before the new one
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="fake-kubelet")
            )
            api_pb2_grpc.add_RegistrationServicer_to_server(  # type: ignore[no-untyped-call]
                _Servicer(self), server
            )
            # gRPC unlinks the socket it listens on when it stops, which a crashed kubelet never does.
            # So it listens on a private path and kubelet.sock is a hard link to that socket: one
            # CREATE event for kubelet.sock, and a stop() or crash() decides whether it goes.
            os.makedirs(os.path.dirname(self.listen_path), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen_path)
            server.add_insecure_port(unix_target(self.listen_path))
            server.start()
            self._server = server
        return removed

    def publish(self) -> None:
        """Create kubelet.sock: from now on plugins can register."""
        os.link(self.listen_path, self.socket_path)

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

    def detach(self) -> Detached:
        """Take the server and the clients out (call with the manager's lock held, as the stop does)."""
        with self.manager.lock:
            detached = Detached(self._server, list(self._clients.values()))
            self._server = None
            self._clients.clear()
        return detached

    def shut_down(self, detached: Detached, *, unlink_socket: bool) -> None:
        """A dying process: it takes no Register from the moment its streams break."""
        if unlink_socket:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)  # Go's listener close unlinks kubelet.sock; a crash leaves it
        stopped = detached.server.stop(None) if detached.server is not None else None
        for client in detached.clients:
            client.disconnect()
        if stopped is not None:
            stopped.wait(JOIN_TIMEOUT_S)

    def close(self) -> None:
        """Disconnect every client whose reader may still run, and join them; unlink our sockets."""
        with self.manager.lock:
            clients, self._all_clients = self._all_clients, []
        for client in clients:
            client.disconnect()
        for client in clients:
            client.join(JOIN_TIMEOUT_S)
        for path in (self.socket_path, self.listen_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(os.path.dirname(self.listen_path))

    # -- Register ----------------------------------------------------------------------------------
    def _key(self, resource: str, socket_path: str) -> ClientKey:
        return resource if self.manager.profile == "resource" else (resource, socket_path)

    def register(self, request: pb.RegisterRequest, context: grpc.ServicerContext) -> pb.Empty:
        """Register: the version and name checks, then connectClient; an error aborts with UNKNOWN."""
        if not self.manager.serving:  # caught between stop() and the server's shutdown: the process is gone
            context.abort(grpc.StatusCode.UNAVAILABLE, "the kubelet is shutting down")
        resource, version, endpoint = request.resource_name, request.version, request.endpoint
        socket_path = os.path.normpath(self.socket_dir + "/" + endpoint)  # Go's filepath.Join
        asked = request.options if request.HasField("options") else None
        data: dict[str, Any] = {"resource": resource, "endpoint": endpoint, "version": version}
        with self.manager.events() as events:
            reason, detail = registration_error(version, resource), None
            if reason is None:
                accepted = {**data, "accepted": True, "reason": None}
                reason, detail = self.connect(
                    events, resource, endpoint, socket_path, asked, lambda: events.add("register", accepted)
                ) or (None, None)
            if reason is not None:
                events.add(
                    "register",
                    {**data, "accepted": False, "reason": reason, **({"detail": detail} if detail else {})},
                )
        if reason is not None:
            context.abort(grpc.StatusCode.UNKNOWN, reason)
        return pb.Empty()

    def connect(
        self,
        events: EventBatch,
        resource: str,
        endpoint: str,
        socket_path: str,
        asked: pb.DevicePluginOptions | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> tuple[str, str | None] | None:
        """connectClient: dial, GetDevicePluginOptions, hand the endpoint to the manager, start
        ListAndWatch. Returns None, or the kubelet's error and a detail of ours.

        ``on_connected`` runs once the manager has the endpoint (with the lock held): the
        events it adds are published before ListAndWatch can report anything.
        """
        manager = self.manager
        with manager.lock:
            generation = manager.generation
        key = self._key(resource, socket_path)
        with manager.lock:
            connected = manager.profile == "resource+socket" and key in self._clients
        if connected:
            return f"device plugin already connected: {socket_path}", None
        if len(socket_path.encode()) > MAX_UNIX_SOCKET_PATH:
            return DIAL_ERROR, f"socket path {socket_path!r} exceeds {MAX_UNIX_SOCKET_PATH} bytes"
        client = PluginClient(resource, endpoint, socket_path, generation)
        with manager.lock:
            self._clients[key] = client
            self._all_clients.append(client)

        def forget_client() -> None:
            with manager.lock:
                # The kubelet deletes the client by name, whoever holds it now.
                if manager.profile == "resource" or self._clients.get(key) is client:
                    self._clients.pop(key, None)
            client.disconnect()

        try:
            client.attach(
                dial(manager.clock, socket_path, manager.timeouts.dial, manager.aborter(generation))
            )
        except PluginCallError as failure:
            forget_client()
            return str(failure), None
        try:
            options = manager.call(events, resource, client, "GetDevicePluginOptions", pb.Empty())
        except PluginCallError as failure:
            forget_client()
            events.add("options", _options_data(resource, endpoint, None, str(failure)))
            return f"failed to get device plugin options: {failure}", None
        events.add("options", _options_data(resource, endpoint, options, None))
        if asked is not None and (
            asked.pre_start_required != options.pre_start_required
            or asked.get_preferred_allocation_available != options.get_preferred_allocation_available
        ):
            manager.violation(
                events,
                contract.OPTIONS_MISMATCH,
                resource,
                "RegisterRequest.options differ from GetDevicePluginOptions; the kubelet ignores "
                "the former and uses the latter",
            )
        with manager.lock:
            current = manager.is_current(generation)
            if current:
                manager.plugin_connected(client, options)
                if on_connected is not None:
                    on_connected()
        if not current:
            client.disconnect()
            return "the kubelet stopped while registering the plugin", None
        events.publish()
        reader = threading.Thread(
            target=self._run_client, args=(client,), name=f"fake-kubelet-law-{resource}", daemon=True
        )
        reader.start()
        # Only a started thread may be joined: a stop() between the register event (a test's
        # wait_for_registration returns on it) and the new thread's first step raised "cannot join
        # thread before it is started". A reader not yet here finds its client disconnected.
        client.thread = reader
        return None

    def deregister(self, resource: str, socket_path: str) -> None:
        """DeRegisterPlugin (the plugin watcher saw its socket go): disconnect the client by name."""
        key = self._key(resource, socket_path)
        with self.manager.events() as events, self.manager.lock:
            client = self._clients.pop(key, None)
            if client is not None:
                # Its name is gone now: its stream's end, a moment later, has nothing to disconnect.
                client.dropped = True
                events.add("deregister", {"resource": resource, "endpoint": client.endpoint})
                self.manager.plugin_disconnected(client, events)
        if client is not None:
            client.disconnect()

    # -- ListAndWatch ------------------------------------------------------------------------------
    def _run_client(self, client: PluginClient) -> None:
        try:
            self._read_stream(client)
        finally:
            client.disconnect()  # idempotent; frees the channel of a client nobody holds any more
            with self.manager.lock:
                if client in self._all_clients:
                    self._all_clients.remove(client)

    def _read_stream(self, client: PluginClient) -> None:
        reason = "the plugin ended the stream"
        self.manager.log.append(
            SOURCE, "call_started", method="ListAndWatch", resource=client.resource, endpoint=client.endpoint
        )
        try:
            stream = client.open_stream()
            if stream is None:
                return
            for response, more in read_ahead(stream):
                self.manager.devices_listed(client, response, checkpoint=not more)
        except grpc.RpcError as error:
            reason = str(from_rpc_error(error))
        except Exception as error:  # never let the reader thread die silently
            reason = f"reading the stream failed: {error!r}"
        self._stream_ended(client, reason)

    def _stream_ended(self, client: PluginClient, reason: str) -> None:
        victim: PluginClient | None = None
        with self.manager.events() as events, self.manager.lock:
            if not self.manager.is_current(client.generation):
                return  # the kubelet itself went away; nothing of it is left to update
            data: dict[str, Any] = {
                "resource": client.resource,
                "endpoint": client.endpoint,
                "reason": reason,
            }
            if client.dropped:
                # Another client's stream end disconnected this one and deleted its name. In Go
                # its Run then returns on the closed connection and runClient's lookup finds
                # nothing, microseconds later, long before the plugin can register again; a
                # reader thread starved here must not take that next registration down.
                pass
            elif self.manager.profile == "resource":
                # runClient looks the client up by name again: when a newer plugin registered the
                # same resource meanwhile, it is the newer one that gets disconnected (#121994).
                victim = self._clients.pop(client.resource, None)
            else:
                key = self._key(client.resource, client.socket_path)
                if self._clients.get(key) is client:
                    victim = self._clients.pop(key)
            if victim is not None:
                victim.dropped = victim is not client
                data["disconnected_endpoint"] = victim.endpoint
            events.add("stream_end", data)
            if victim is not None:
                self.manager.plugin_disconnected(victim, events)
        if victim is not None:
            victim.disconnect()


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


class _Servicer(api_pb2_grpc.RegistrationServicer):
    def __init__(self, server: RegistrationServer) -> None:
        self._server = server

    def Register(self, request: pb.RegisterRequest, context: grpc.ServicerContext) -> pb.Empty:
        return self._server.register(request, context)
