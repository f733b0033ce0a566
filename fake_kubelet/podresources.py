"""The podresources API v1 over gRPC on its own socket, with the kubelet's semantics (server_v1.go).

``List``: the active pods, each with its restartable init containers and app containers
and the devices they hold, one ``ContainerDevices`` per device per NUMA node (a device
without topology once, without ``topology``), after dropping what inactive pods held; a
device whose Allocate is still in flight is not listed yet. ``GetAllocatableResources``:
the healthy devices of every resource, with their topology. ``Get``: one pod, only with
the ``KubeletPodResourcesGet`` feature gate. CPU IDs and memory are not modelled (empty).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from concurrent import futures

import grpc

from deviceplugin.podresources.v1 import api_pb2 as pr
from deviceplugin.podresources.v1 import api_pb2_grpc
from deviceplugin.v1beta1 import MAX_UNIX_SOCKET_PATH, unix_target
from fake_kubelet.checkpoint import NO_NUMA
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import DeviceManager
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pod_manager import PodManager, PodRecord
from fake_kubelet.versions import KUBELET_POD_RESOURCES_GET

JOIN_TIMEOUT_S = 2.0


def container_devices(resource: str, device: str, numa: Iterable[int]) -> list[pr.ContainerDevices]:
    """containerDevicesFromResourceDeviceInstances for one device: one message per NUMA node."""
    nodes = sorted(n for n in numa if n != NO_NUMA)
    if not nodes:
        return [pr.ContainerDevices(resource_name=resource, device_ids=[device])]
    return [
        pr.ContainerDevices(
            resource_name=resource, device_ids=[device], topology=pr.TopologyInfo(nodes=[pr.NUMANode(ID=n)])
        )
        for n in nodes
    ]


class PodResourcesServer:
    """Serves PodResourcesLister on ``socket_path`` while the kubelet runs."""

    def __init__(
        self,
        manager: DeviceManager,
        pod_devices: PodDevices,
        pods: PodManager,
        gates: dict[str, bool],
        socket_path: str,
        collect_garbage: Callable[[], None],
    ) -> None:
        if len(socket_path.encode()) > MAX_UNIX_SOCKET_PATH:
            raise ValueError(f"podresources socket path {socket_path!r} exceeds {MAX_UNIX_SOCKET_PATH} bytes")
        self.manager = manager
        self.pod_devices = pod_devices
        self.pods = pods
        self.gates = gates
        self.socket_path = socket_path
        self.collect_garbage = collect_garbage
        self._server: grpc.Server | None = None

    def start(self) -> None:
        os.makedirs(os.path.dirname(self.socket_path), mode=0o750, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)  # a stale socket of a crashed kubelet
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-kubelet-pr"))
        api_pb2_grpc.add_PodResourcesListerServicer_to_server(  # type: ignore[no-untyped-call]
            _Servicer(self), server
        )
        server.add_insecure_port(unix_target(self.socket_path))
        server.start()
        self._server = server

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(None).wait(JOIN_TIMEOUT_S)

    # -- the API, as plain methods (the servicer below wraps them) ----------------------------------
    def list(self) -> pr.ListPodResourcesResponse:
        self.collect_garbage()
        with self.manager.lock:
            return pr.ListPodResourcesResponse(pod_resources=[self._pod(r) for r in self.pods.active()])

    def allocatable(self) -> pr.AllocatableResourcesResponse:
        devices: list[pr.ContainerDevices] = []
        with self.manager.lock:
            for name in sorted(self.manager.table.entries):
                entry = self.manager.table.entries[name]
                for device in sorted(entry.healthy):
                    numa = entry.devices.get(device, {}).get("numa") or []
                    devices.extend(container_devices(name, device, numa))
        return pr.AllocatableResourcesResponse(devices=devices)

    def get(self, name: str, namespace: str) -> pr.GetPodResourcesResponse:
        """Raises LookupError with the kubelet's message for a disabled gate or an unknown pod."""
        if not self.gates.get(KUBELET_POD_RESOURCES_GET):
            raise LookupError("PodResources API Get method disabled")
        record = self.pods.get(name)
        if record is None or record.pod.namespace != namespace:
            raise LookupError(f"pod {name} in namespace {namespace} not found")
        with self.manager.lock:
            return pr.GetPodResourcesResponse(pod_resources=self._pod(record))

    def _pod(self, record: PodRecord) -> pr.PodResources:
        pod = record.pod
        containers = [c for c in pod.init_containers if c.restartable] + list(pod.containers)
        out = pr.PodResources(name=pod.name, namespace=pod.namespace)
        for container in containers:
            held = self.pod_devices.container(pod.uid, container.name)
            devices: list[pr.ContainerDevices] = []
            for resource in sorted(held):
                numa_of: dict[str, list[int]] = {}
                for node, ids in held[resource].numa.items():
                    for device in ids:
                        numa_of.setdefault(device, []).append(node)
                for device in sorted(numa_of):
                    devices.extend(container_devices(resource, device, numa_of[device]))
            out.containers.append(pr.ContainerResources(name=container.name, devices=devices))
        return out


class _Servicer(api_pb2_grpc.PodResourcesListerServicer):
    def __init__(self, server: PodResourcesServer) -> None:
        self._server = server

    def _called(self, method: str, **data: object) -> None:
        self._server.manager.log.append(SOURCE, "podresources_call", method=method, **data)

    def List(
        self, request: pr.ListPodResourcesRequest, context: grpc.ServicerContext
    ) -> pr.ListPodResourcesResponse:
        self._called("List")
        return self._server.list()

    def GetAllocatableResources(
        self, request: pr.AllocatableResourcesRequest, context: grpc.ServicerContext
    ) -> pr.AllocatableResourcesResponse:
        self._called("GetAllocatableResources")
        return self._server.allocatable()

    def Get(
        self, request: pr.GetPodResourcesRequest, context: grpc.ServicerContext
    ) -> pr.GetPodResourcesResponse:
        self._called("Get", pod=request.pod_name, namespace=request.pod_namespace)
        try:
            return self._server.get(request.pod_name, request.pod_namespace)
        except LookupError as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
