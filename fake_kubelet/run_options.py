"""GetDeviceRunContainerOptions: what a container gets at every (re)start.

PreStartContainer, when the plugin's options ask for it, with the container's cached
devices and the kubelet's 30 s deadline; a lazy Allocate when the container has no cached
allocation (the node-reboot race); then the cached responses of its resources merged as
the kubelet hands them to the runtime.
"""

from __future__ import annotations

from typing import Any

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet.allocator import DeviceAllocator, about
from fake_kubelet.errors import AdmissionError, PluginCallError
from fake_kubelet.events import CallRecord
from fake_kubelet.manager import DeviceManager
from fake_kubelet.numa import TopologyHint
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pods import Container, Pod
from fake_kubelet.responses import merge_run_options, response_to_dict


class RunOptions:
    """The device manager's part of a container start."""

    def __init__(self, manager: DeviceManager, pod_devices: PodDevices, allocator: DeviceAllocator) -> None:
        self.manager = manager
        self.pod_devices = pod_devices
        self.allocator = allocator

    def for_container(
        self, pod: Pod, container: Container, running: bool, hint: TopologyHint | None = None
    ) -> dict[str, Any]:
        """GetDeviceRunContainerOptions: PreStart per resource, lazy re-allocation, merged options."""
        needs_reallocate = False
        for resource, limit in container.limits.items():
            if limit == 0 or not self.manager.is_device_plugin_resource(resource):
                continue
            self._prestart_if_needed(pod, container, resource)
            if self.pod_devices.get(pod.uid, container.name, resource) is None:
                needs_reallocate = True  # node-reboot race: no cached allocation
        if needs_reallocate:
            self.allocator.allocate(pod, container, {}, running, hint)
            self.manager.write_checkpoint()
        allocations = self.pod_devices.container(pod.uid, container.name).values()
        return merge_run_options([response_to_dict(a.response) for a in allocations])

    def _prestart_if_needed(self, pod: Pod, container: Container, resource: str) -> None:
        with self.manager.lock:
            entry = self.manager.entry(resource)
            endpoint = entry.active if entry else None
            alloc = self.pod_devices.get(pod.uid, container.name, resource)
        if endpoint is None:
            raise AdmissionError(f"endpoint not found in cache for a registered resource: {resource}")
        if endpoint.options is None or not endpoint.options.pre_start_required:
            return
        if alloc is None:
            raise AdmissionError(
                f"no devices found allocated in local cache for pod {pod.uid}, container "
                f"{container.name}, resource {resource}"
            )
        ids = sorted(alloc.devices)
        with self.manager.events() as events:
            try:
                with CallRecord(
                    events, "prestart", resource=resource, pod=pod.name, container=container.name, devices=ids
                ):
                    if endpoint.stopped or endpoint.client is None:
                        raise PluginCallError(endpoint.stopped_error())
                    self.manager.call(
                        events,
                        resource,
                        endpoint.client,
                        "PreStartContainer",
                        pb.PreStartContainerRequest(devices_ids=ids),
                        timeout=self.manager.timeouts.prestart,
                        about=about(pod, container),
                    )
            except PluginCallError as failure:
                raise AdmissionError(
                    f"device plugin PreStartContainer rpc failed with err: {failure}"
                ) from None
