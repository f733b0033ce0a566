"""A tiny device plugin speaking the v1beta1 wire API, to drive the fake kubelet in tests.

Deliberately not our real plugin: the fake kubelet must work with any plugin, and its
tests must not depend on another part. Every answer can be replaced by a handler,
and every call is recorded so a test can wait for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent import futures
from functools import partial
from typing import Any

import grpc

from deviceplugin.pluginregistration.v1 import api_pb2 as reg
from deviceplugin.pluginregistration.v1 import api_pb2_grpc as reg_grpc
from deviceplugin.v1beta1 import HEALTHY, VERSION, api_pb2_grpc, unix_target
from deviceplugin.v1beta1 import api_pb2 as pb

Handler = Callable[[Any, grpc.ServicerContext], Any]


def device(device_id: str, health: str = HEALTHY, numa: Iterable[int] = ()) -> pb.Device:
    topology = pb.TopologyInfo(nodes=[pb.NUMANode(ID=n) for n in numa]) if numa else None
    return pb.Device(ID=device_id, health=health, topology=topology)


def allocate_ok(request: pb.AllocateRequest, context: grpc.ServicerContext) -> pb.AllocateResponse:
    """A well-behaved answer: one response per container, env + device node per device."""
    responses = []
    for creq in request.container_requests:
        ids = list(creq.devices_ids)
        responses.append(
            pb.ContainerAllocateResponse(
                envs={"STUB_VISIBLE_DEVICES": ",".join(ids)},
                devices=[
                    pb.DeviceSpec(container_path=f"/dev/stub{i}", host_path=f"/dev/stub{i}", permissions="rw")
                    for i in range(len(ids))
                ],
            )
        )
    return pb.AllocateResponse(container_responses=responses)


class StubPlugin(api_pb2_grpc.DevicePluginServicer):
    """Serves ``<socket_dir>/<endpoint>``; ``register()`` calls the kubelet's Register."""

    def __init__(
        self,
        socket_dir: str,
        endpoint: str = "stub.sock",
        resource: str = "example.com/gpu",
        devices: Iterable[pb.Device | str] = ("dev0", "dev1"),
        *,
        pre_start_required: bool = False,
        preferred: bool = False,
        max_workers: int = 8,
        watcher_info: reg.PluginInfo | None = None,
    ) -> None:
        self.socket_dir = socket_dir
        self.endpoint = endpoint
        self.resource = resource
        self.socket_path = os.path.join(socket_dir, endpoint)
        self.options = pb.DevicePluginOptions(
            pre_start_required=pre_start_required, get_preferred_allocation_available=preferred
        )
        self.calls: list[tuple[str, Any]] = []
        self.options_handler: Handler | None = None
        self.preferred_handler: Handler | None = None
        self.allocate_handler: Handler = allocate_ok
        self.prestart_handler: Handler | None = None
        self.release = threading.Event()  # set on stop: frees handlers that hang on purpose
        self._devices = [device(d) if isinstance(d, str) else d for d in devices]
        self._cond = threading.Condition()
        self._version = 0
        self._stream_generation = 0
        self._server: grpc.Server | None = None
        self._max_workers = max_workers
        # Probe mode: also serve the plugin watcher's Registration service, answering GetInfo so.
        self.watcher_info = watcher_info
        self.notifications: list[reg.RegistrationStatus] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> StubPlugin:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._max_workers))
        api_pb2_grpc.add_DevicePluginServicer_to_server(self, self._server)
        if self.watcher_info is not None:
            reg_grpc.add_RegistrationServicer_to_server(_WatcherRegistration(self), self._server)
        self._server.add_insecure_port(unix_target(self.socket_path))
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving: open streams break (the kubelet sees an error), the socket goes."""
        self.release.set()
        if self._server is not None:
            self._server.stop(None).wait(5)
            self._server = None

    def register(
        self,
        kubelet_socket: str,
        *,
        version: str = VERSION,
        resource: str | None = None,
        options: pb.DevicePluginOptions | None = None,
        timeout: float = 10.0,
    ) -> None:
        """Call Register (raises grpc.RpcError with the kubelet's status on rejection)."""
        with grpc.insecure_channel(unix_target(kubelet_socket)) as channel:
            api_pb2_grpc.RegistrationStub(channel).Register(
                pb.RegisterRequest(
                    version=version,
                    endpoint=self.endpoint,
                    resource_name=resource or self.resource,
                    options=options,
                ),
                timeout=timeout,
            )

    # -- control -----------------------------------------------------------------------------
    def set_devices(self, devices: Iterable[pb.Device | str]) -> None:
        """Send a new full list on every open ListAndWatch stream."""
        with self._cond:
            self._devices = [device(d) if isinstance(d, str) else d for d in devices]
            self._version += 1
            self._cond.notify_all()

    def end_streams(self) -> None:
        """Return from every open ListAndWatch (a clean end of stream, status OK)."""
        with self._cond:
            self._stream_generation += 1
            self._cond.notify_all()

    def count(self, method: str) -> int:
        with self._cond:
            return sum(1 for m, _ in self.calls if m == method)

    def requests(self, method: str) -> list[Any]:
        with self._cond:
            return [r for m, r in self.calls if m == method]

    def wait_for_calls(self, method: str, n: int = 1, timeout: float = 5.0) -> list[Any]:
        with self._cond:
            if not self._cond.wait_for(lambda: sum(1 for m, _ in self.calls if m == method) >= n, timeout):
                raise AssertionError(f"plugin saw {self.count(method)} {method} calls, expected {n}")
            return [r for m, r in self.calls if m == method]

    def _record(self, method: str, request: Any) -> None:
        with self._cond:
            self.calls.append((method, request))
            self._cond.notify_all()

    # -- the DevicePlugin service (gRPC's method names) ----------------------------------------
    def GetDevicePluginOptions(self, request, context):
        self._record("GetDevicePluginOptions", request)
        if self.options_handler is not None:
            return self.options_handler(request, context)
        return self.options

    def ListAndWatch(self, request, context):
        self._record("ListAndWatch", request)
        context.add_callback(self._wake)
        with self._cond:
            generation, version, devices = self._stream_generation, self._version, list(self._devices)
        yield pb.ListAndWatchResponse(devices=devices)
        while True:
            with self._cond:
                self._cond.wait_for(partial(self._stream_should_wake, version, generation, context))
                if self._stream_generation != generation or not context.is_active():
                    return
                version, devices = self._version, list(self._devices)
            yield pb.ListAndWatchResponse(devices=devices)

    def GetPreferredAllocation(self, request, context):
        self._record("GetPreferredAllocation", request)
        if self.preferred_handler is not None:
            return self.preferred_handler(request, context)
        responses = []
        for creq in request.container_requests:
            chosen = list(creq.must_include_deviceIDs)
            for d in creq.available_deviceIDs:
                if len(chosen) >= creq.allocation_size:
                    break
                if d not in chosen:
                    chosen.append(d)
            responses.append(pb.ContainerPreferredAllocationResponse(deviceIDs=chosen))
        return pb.PreferredAllocationResponse(container_responses=responses)

    def Allocate(self, request, context):
        self._record("Allocate", request)
        return self.allocate_handler(request, context)

    def PreStartContainer(self, request, context):
        self._record("PreStartContainer", request)
        if self.prestart_handler is not None:
            return self.prestart_handler(request, context)
        return pb.PreStartContainerResponse()

    def _stream_should_wake(self, version: int, generation: int, context: grpc.ServicerContext) -> bool:
        return self._version != version or self._stream_generation != generation or not context.is_active()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


class _WatcherRegistration(reg_grpc.RegistrationServicer):
    """The plugin watcher's side of a probe-mode plugin: who it is, and what the kubelet said."""

    def __init__(self, plugin: StubPlugin) -> None:
        self._plugin = plugin

    def GetInfo(self, request, context):
        self._plugin._record("GetInfo", request)
        return self._plugin.watcher_info

    def NotifyRegistrationStatus(self, request, context):
        self._plugin._record("NotifyRegistrationStatus", request)
        with self._plugin._cond:
            self._plugin.notifications.append(request)
        return reg.RegistrationStatusResponse()
