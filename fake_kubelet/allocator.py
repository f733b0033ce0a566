"""Devices for one container: choose them, Allocate them, and PreStart them before each start.

The device manager's ``Allocate`` and ``GetDeviceRunContainerOptions`` for one container
(manager.go): reuse of init-container devices, healthy minus allocated,
GetPreferredAllocation when the plugin offers it, Allocate with exactly one container
per call, the response cached in :class:`PodDevices`.

No TopologyManager: devices are not NUMA-aligned (every device falls in the kubelet's
"no affinity" set), so the preferred-allocation request is the kubelet's no-topology
one. Where Go iterates a set, we use sorted order (deterministic).
"""

from __future__ import annotations

from typing import Any

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet import contract
from fake_kubelet.endpoint import Endpoint
from fake_kubelet.errors import AdmissionError, PluginCallError
from fake_kubelet.events import CallRecord, EventBatch
from fake_kubelet.manager import DeviceManager
from fake_kubelet.names import go_quote
from fake_kubelet.pod_devices import Allocation, PodDevices
from fake_kubelet.pods import Container, Pod
from fake_kubelet.responses import merge_run_options, response_to_dict

EMPTY_ALLOCATE_RESPONSE = "&AllocateResponse{ContainerResponses:[]*ContainerAllocateResponse{},}"


class DeviceAllocator:
    """Allocates a container's devices through the plugin and caches the answer."""

    def __init__(self, manager: DeviceManager, pod_devices: PodDevices) -> None:
        self.manager = manager
        self.pod_devices = pod_devices

    def allocate(self, pod: Pod, container: Container, reusable: dict[str, set[str]], running: bool) -> None:
        """allocateContainerResources: one Allocate per resource with devices to allocate.

        ``running``: the container runs already (a kubelet restart): it keeps its devices.
        """
        for resource, required in container.limits.items():
            if required == 0 or not self.manager.is_device_plugin_resource(resource):
                continue
            chosen = self._devices_to_allocate(
                pod, container, resource, required, reusable.get(resource, set()), running
            )
            if not chosen:
                continue
            response = self._call_allocate(pod, container, resource, chosen)
            with self.manager.lock:
                entry = self.manager.entry(resource)
                numa: dict[int, list[str]] = {}
                for device in chosen:
                    nodes = (entry.devices.get(device, {}).get("numa") if entry else None) or [ckpt.NO_NUMA]
                    for node in nodes:
                        numa.setdefault(node, []).append(device)
                self.pod_devices.insert(
                    pod.uid, container.name, resource, Allocation(list(chosen), numa, response)
                )

    def _devices_to_allocate(
        self, pod: Pod, container: Container, resource: str, required: int, reusable: set[str], running: bool
    ) -> list[str]:
        with self.manager.events() as events:
            with self.manager.lock:
                existing = self.pod_devices.get(pod.uid, container.name, resource)
                if existing is not None and len(existing.devices) != required:
                    raise AdmissionError(
                        f"pod {go_quote(pod.uid)} container {go_quote(container.name)} changed request for "
                        f"resource {go_quote(resource)} from {len(existing.devices)} to {required}"
                    )
                if existing is not None and running:
                    return []  # kubelet restart: the container runs and already has its devices
                entry = self.manager.entry(resource)
                if entry is None or not entry.reported:
                    raise AdmissionError(f"cannot allocate unregistered device {resource}")
                healthy = set(entry.healthy)
                if not healthy:
                    raise AdmissionError(
                        f"no healthy devices present; cannot allocate unhealthy devices {resource}"
                    )
                if existing is not None and not healthy.issuperset(existing.devices):
                    raise AdmissionError(
                        "previously allocated devices are no longer healthy; cannot allocate unhealthy "
                        f"devices {resource}"
                    )
                needed = required - (len(existing.devices) if existing else 0)
                if needed <= 0:
                    return []
                chosen = sorted(reusable)[:needed]
                needed -= len(chosen)
                if needed == 0:
                    return chosen
                available = healthy - self.pod_devices.in_use(resource)
                if len(available) < needed:
                    raise AdmissionError(
                        f"requested number of devices unavailable for {resource}. "
                        f"Requested: {needed}, Available: {len(available)}"
                    )
                endpoint = entry.active
            if endpoint is None:
                raise AdmissionError(f"endpoint not found in cache for a registered resource: {resource}")
            if endpoint.options is not None and endpoint.options.get_preferred_allocation_available:
                offered = sorted(available | set(chosen))
                preferred = self._call_preferred(
                    events, pod, container, resource, endpoint, offered, list(chosen), required
                )
                for device in preferred:
                    if needed == 0:
                        break
                    if device in available and device not in chosen:
                        chosen.append(device)
                        needed -= 1
            for device in sorted(available):
                if needed == 0:
                    break
                if device not in chosen:
                    chosen.append(device)
                    needed -= 1
            return chosen

    def _call_preferred(
        self,
        events: EventBatch,
        pod: Pod,
        container: Container,
        resource: str,
        endpoint: Endpoint,
        offered: list[str],
        must_include: list[str],
        size: int,
    ) -> list[str]:
        record = CallRecord(
            events,
            "preferred_allocation",
            resource=resource,
            pod=pod.name,
            container=container.name,
            available=offered,
            must_include=must_include,
            size=size,
            response=None,
        )
        try:
            with record:
                if endpoint.stopped or endpoint.client is None:
                    raise PluginCallError(endpoint.stopped_error())
                request = pb.PreferredAllocationRequest(
                    container_requests=[
                        pb.ContainerPreferredAllocationRequest(
                            available_deviceIDs=offered,
                            must_include_deviceIDs=must_include,
                            allocation_size=size,
                        )
                    ]
                )
                response = self.manager.call(
                    events, resource, endpoint.client, "GetPreferredAllocation", request
                )
                answers = list(response.container_responses)
                if len(answers) != 1:
                    self.manager.violation(
                        events,
                        contract.RESPONSE_COUNT,
                        resource,
                        f"GetPreferredAllocation answered {len(answers)} container responses for 1 request",
                    )
                preferred = list(answers[0].deviceIDs) if answers else []
                record.data["response"] = preferred if answers else None
        except PluginCallError as failure:
            raise AdmissionError(
                f"device plugin GetPreferredAllocation rpc failed with err: {failure}"
            ) from None
        if answers:
            for rule, detail in contract.check_preferred(preferred, offered, must_include, size):
                self.manager.violation(events, rule, resource, detail)
        return preferred

    def _call_allocate(
        self, pod: Pod, container: Container, resource: str, devices: list[str]
    ) -> pb.ContainerAllocateResponse:
        manager = self.manager
        with manager.events() as events:
            with manager.lock:
                entry = manager.entry(resource)
                endpoint = entry.active if entry else None
                if entry is not None:
                    for device in devices:
                        if device not in entry.devices:
                            manager.violation(
                                events,
                                contract.ALLOCATE_UNKNOWN_DEVICE,
                                resource,
                                f"device {device!r} sent to Allocate is not listed by the plugin",
                            )
                        elif device not in entry.healthy:
                            manager.violation(
                                events,
                                contract.ALLOCATE_UNHEALTHY_DEVICE,
                                resource,
                                f"device {device!r} sent to Allocate is not healthy",
                            )
            ids = sorted(devices)
            record = CallRecord(
                events,
                "allocate",
                resource=resource,
                pod=pod.name,
                container=container.name,
                devices=ids,
                response=None,
            )
            try:
                with record:
                    if endpoint is None:
                        raise AdmissionError(f"unknown Device Plugin {resource}")
                    if endpoint.stopped or endpoint.client is None:
                        raise AdmissionError(endpoint.stopped_error())
                    request = pb.AllocateRequest(
                        container_requests=[pb.ContainerAllocateRequest(devices_ids=ids)]
                    )
                    response = manager.call(events, resource, endpoint.client, "Allocate", request)
                    answers: list[pb.ContainerAllocateResponse] = list(response.container_responses)
                    if len(answers) != 1:
                        manager.violation(
                            events,
                            contract.RESPONSE_COUNT,
                            resource,
                            f"Allocate answered {len(answers)} container responses for 1 container request",
                        )
                    if not answers:
                        raise AdmissionError(
                            f"no containers return in allocation response {EMPTY_ALLOCATE_RESPONSE}"
                        )
                    for rule, detail in contract.check_container_response(answers[0]):
                        manager.violation(events, rule, resource, detail)
                    record.data["response"] = response_to_dict(answers[0])
            except PluginCallError as failure:
                raise AdmissionError(str(failure)) from None
            return answers[0]

    def run_container_options(self, pod: Pod, container: Container, running: bool) -> dict[str, Any]:
        """GetDeviceRunContainerOptions: PreStart per resource, lazy re-allocation, merged options."""
        needs_reallocate = False
        for resource, limit in container.limits.items():
            if limit == 0 or not self.manager.is_device_plugin_resource(resource):
                continue
            self._prestart_if_needed(pod, container, resource)
            if self.pod_devices.get(pod.uid, container.name, resource) is None:
                needs_reallocate = True  # node-reboot race: no cached allocation
        if needs_reallocate:
            self.allocate(pod, container, {}, running)
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
                    )
            except PluginCallError as failure:
                raise AdmissionError(
                    f"device plugin PreStartContainer rpc failed with err: {failure}"
                ) from None
