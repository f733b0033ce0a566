"""One resource's DevicePlugin gRPC server on ``<socket-dir>/nvidia-<name>.sock``.

ListAndWatch sends the full device list at once and again after every health change; each
stream waits on the server's condition variable (no polling) and ends when the server stops or
the kubelet goes away. A sync gRPC server holds one worker thread per open stream for the
stream's whole life, so the pool is sized well above (streams + unary calls): the kubelet's
GetDevicePluginOptions must be answered while our own Register call is outstanding, even when
an old stream is still open.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from deviceplugin.v1beta1 import HEALTHY, MAX_UNIX_SOCKET_PATH, UNHEALTHY, api_pb2_grpc, unix_target
from deviceplugin.v1beta1 import api_pb2 as pb
from plugin.allocate import Extras, allocate
from plugin.config import Config
from plugin.errors import AllocationError
from plugin.logfmt import EventLogger
from plugin.preferred import preferred
from plugin.resources import Device, Resource

MAX_WORKERS = 32
SELF_CHECK_TIMEOUT_S = 5.0
OPTIONS = pb.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True)


class ServerStartError(RuntimeError):
    """The gRPC server could not listen on, or answer through, its socket."""


class ResourceServer(api_pb2_grpc.DevicePluginServicer):
    def __init__(
        self,
        resource: Resource,
        config: Config,
        events: EventLogger,
        scores: Callable[[], Mapping[frozenset[str], int]] = dict,
        max_workers: int = MAX_WORKERS,
        on_stream_lost: Callable[[], None] = lambda: None,
        extras: Extras = Extras(),
    ) -> None:
        self.extras = extras
        self.resource = resource
        self.config = config
        self.socket_path = config.socket_path(resource.socket_name)
        self._log = events
        self._scores = scores
        self._max_workers = max_workers
        self._cond = threading.Condition()
        self._health: dict[str, str] = {d.id: HEALTHY for d in resource.devices}
        self._all_healthy: pb.ListAndWatchResponse | None = None  # see _device_list
        self._version = 0
        self._stopped = False
        self._server: grpc.Server | None = None
        self._streams = 0
        self._on_stream_lost = on_stream_lost

    # -- health ----------------------------------------------------------------------------
    def set_health(self, devices: Sequence[Device], healthy: bool) -> list[Device]:
        """Apply a health change; returns the devices of this resource whose health changed."""
        value = HEALTHY if healthy else UNHEALTHY
        changed = []
        with self._cond:
            for device in devices:
                if self._health.get(device.id, value) != value:
                    self._health[device.id] = value
                    changed.append(device)
            if changed:
                self._version += 1
                self._cond.notify_all()
        return changed

    def health(self) -> dict[str, str]:
        with self._cond:
            return dict(self._health)

    def _device_list(self) -> pb.ListAndWatchResponse:
        """The whole device list with each device's health now (called holding ``_cond``).

        The list with every device Healthy is built once; each message is a copy of it (made
        in C) with only the devices that are not Healthy changed. Building 2,688 devices anew
        on every health change cost more than the rest of the plugin's path to the kubelet.
        """
        if self._all_healthy is None:
            template = pb.ListAndWatchResponse()
            for device in self.resource.devices:
                entry = template.devices.add(ID=device.id, health=HEALTHY)
                if device.numa_node is not None:
                    entry.topology.nodes.add(ID=device.numa_node)
            self._all_healthy = template
        response = pb.ListAndWatchResponse()
        response.CopyFrom(self._all_healthy)
        listed = response.devices
        for index, device in enumerate(self.resource.devices):
            health = self._health[device.id]
            if health != HEALTHY:
                listed[index].health = health
        return response

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Listen, serve, and check through the socket that we answer, before anyone registers us."""
        if len(self.socket_path.encode()) > MAX_UNIX_SOCKET_PATH:
            raise ServerStartError(
                f"socket path {self.socket_path!r} is longer than {MAX_UNIX_SOCKET_PATH} "
                "bytes; choose a shorter --socket-dir"
            )
        _unlink(self.socket_path)
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="plugin-grpc")
        )
        api_pb2_grpc.add_DevicePluginServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        try:
            port = server.add_insecure_port(unix_target(self.socket_path))
        except RuntimeError as exc:
            raise ServerStartError(f"cannot listen on {self.socket_path}: {exc}") from None
        if port == 0:
            raise ServerStartError(f"cannot listen on {self.socket_path}")
        server.start()
        self._server = server
        try:
            with grpc.insecure_channel(unix_target(self.socket_path)) as channel:
                api_pb2_grpc.DevicePluginStub(channel).GetDevicePluginOptions(  # type: ignore[no-untyped-call]
                    pb.Empty(), timeout=SELF_CHECK_TIMEOUT_S, wait_for_ready=True
                )
        except grpc.RpcError as exc:
            self.stop()
            raise ServerStartError(
                f"our own server on {self.socket_path} does not answer: {exc.code().name}: {exc.details()}"
            ) from None
        self._log.info(
            "serving",
            resource=self.resource.name,
            socket=self.socket_path,
            devices=len(self.resource.devices),
        )

    def stop(self) -> None:
        """Close every stream, stop serving and remove the socket (returns without waiting)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None
        _unlink(self.socket_path)

    # -- DevicePlugin RPCs -----------------------------------------------------------------
    def GetDevicePluginOptions(self, request: pb.Empty, context: Any) -> pb.DevicePluginOptions:
        return OPTIONS

    def ListAndWatch(self, request: pb.Empty, context: Any) -> Iterator[pb.ListAndWatchResponse]:
        def wake() -> None:
            with self._cond:
                self._cond.notify_all()

        context.add_callback(wake)
        with self._cond:
            self._streams += 1
        self._log.info("list-and-watch-opened", resource=self.resource.name)
        sent = -1
        try:
            while True:

                def due(last: int = sent) -> bool:
                    return self._stopped or self._version != last or not context.is_active()

                with self._cond:
                    self._cond.wait_for(due)
                    if self._stopped or not context.is_active():
                        return
                    sent = self._version
                    response = self._device_list()
                    unhealthy = sum(1 for health in self._health.values() if health != HEALTHY)
                self._log.info(
                    "device-list-sent",
                    resource=self.resource.name,
                    healthy=len(self._health) - unhealthy,
                    unhealthy=unhealthy,
                )
                yield response
        finally:
            with self._cond:
                self._streams -= 1
                # The kubelet hung up while we still serve and no other stream of it is open:
                # it no longer knows us (e.g. kubelet bug #121994 disconnected us for an older
                # instance's stream end). NVIDIA's plugin stays silent until its next rebuild.
                dropped = not self._stopped and self._streams == 0 and not context.is_active()
            self._log.info("list-and-watch-closed", resource=self.resource.name)
            if dropped:
                self._on_stream_lost()

    def Allocate(self, request: pb.AllocateRequest, context: Any) -> pb.AllocateResponse:
        try:
            response = allocate(self.resource, request, self.config, self.extras)
        except AllocationError as exc:
            message = f'invalid allocation request for "{self.resource.name}": {exc}'
            self._log.warning("allocate-failed", resource=self.resource.name, error=message)
            context.abort(grpc.StatusCode.UNKNOWN, message)
        for creq, cresp in zip(request.container_requests, response.container_responses, strict=True):
            self._log.info(
                "allocate",
                resource=self.resource.name,
                devices=list(creq.devices_ids),
                visible=cresp.envs.get("NVIDIA_VISIBLE_DEVICES"),
            )
        return response

    def GetPreferredAllocation(
        self, request: pb.PreferredAllocationRequest, context: Any
    ) -> pb.PreferredAllocationResponse:
        response = pb.PreferredAllocationResponse()
        policy = self.config.shared_devices_allocation_policy
        try:
            for creq in request.container_requests:
                ids = preferred(
                    self.resource,
                    list(creq.available_deviceIDs),
                    list(creq.must_include_deviceIDs),
                    creq.allocation_size,
                    policy,
                    None if self.resource.shared else self._scores(),
                )
                response.container_responses.add(deviceIDs=ids)
                self._log.info(
                    "preferred-allocation",
                    resource=self.resource.name,
                    size=creq.allocation_size,
                    available=len(creq.available_deviceIDs),
                    chosen=ids,
                )
        except AllocationError as exc:
            message = f"error getting list of preferred allocation devices: {exc}"  # NVIDIA's wrapping
            self._log.warning("preferred-allocation-failed", resource=self.resource.name, error=message)
            context.abort(grpc.StatusCode.UNKNOWN, message)
        return response

    def PreStartContainer(
        self, request: pb.PreStartContainerRequest, context: Any
    ) -> pb.PreStartContainerResponse:
        return pb.PreStartContainerResponse()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
