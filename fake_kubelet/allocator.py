"""Devices for one container: choose them, Allocate them, and PreStart them before each start.

The device manager's ``Allocate`` and ``GetDeviceRunContainerOptions`` for one container
(manager.go): reuse of init-container devices, healthy minus allocated,
GetPreferredAllocation when the plugin offers it, Allocate with exactly one container
per call, the response cached in :class:`PodDevices`.

With a TopologyManager hint the free devices are split into those on the hint's NUMA
nodes, those on other nodes and those without topology, and taken in that order; without
one every device is "without topology". Where Go iterates a set, we use sorted order, and
a preferred answer is taken in the order the plugin gave it (deterministic).
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
from fake_kubelet.numa import TopologyHint
from fake_kubelet.pod_devices import Allocation, PodDevices
from fake_kubelet.pods import Container, Pod
from fake_kubelet.responses import response_to_dict
from fake_kubelet.topology_hints import filter_by_affinity

EMPTY_ALLOCATE_RESPONSE = "&AllocateResponse{ContainerResponses:[]*ContainerAllocateResponse{},}"


class _Picker:
    """allocateRemainingFrom: devices taken in order until the request is met."""

    def __init__(self, required: int) -> None:
        self.required = required
        self.needed = required
        self.chosen: list[str] = []

    def take(self, devices: list[str]) -> bool:
        """Take devices not taken yet; True once the request is met."""
        for device in devices:
            if self.needed == 0:
                break
            if device not in self.chosen:
                self.chosen.append(device)
                self.needed -= 1
        return self.needed == 0

    def short(self) -> AdmissionError:
        return AdmissionError(
            f"unexpectedly allocated less resources than required. Requested: {self.required}, "
            f"Got: {self.required - self.needed}"
        )


class DeviceAllocator:
    """Allocates a container's devices through the plugin and caches the answer."""

    def __init__(self, manager: DeviceManager, pod_devices: PodDevices) -> None:
        self.manager = manager
        self.pod_devices = pod_devices

    def allocate(
        self,
        pod: Pod,
        container: Container,
        reusable: dict[str, set[str]],
        running: bool,
        hint: TopologyHint | None = None,
    ) -> None:
        """allocateContainerResources: one Allocate per resource with devices to allocate.

        ``running``: the container runs already (a kubelet restart): it keeps its devices.
        ``hint``: the TopologyManager's affinity for the container (None: no alignment).
        """
        for resource, required in container.limits.items():
            if required == 0 or not self.manager.is_device_plugin_resource(resource):
                continue
            chosen = self._devices_to_allocate(
                pod, container, resource, required, reusable.get(resource, set()), running, hint
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
        self,
        pod: Pod,
        container: Container,
        resource: str,
        required: int,
        reusable: set[str],
        running: bool,
        hint: TopologyHint | None,
    ) -> list[str]:
        """devicesToAllocate: reused devices, then aligned ones, with the plugin's preference asked
        where the kubelet asks it (available = aligned or free, plus those chosen; must_include =
        those chosen; size = the container's full request)."""
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
            if existing is not None:
                return []  # the container has its devices already
            pick = _Picker(required)
            if pick.take(sorted(reusable)):
                return pick.chosen
            available = healthy - self.pod_devices.in_use(resource)
            if len(available) < pick.needed:
                raise AdmissionError(
                    f"requested number of devices unavailable for {resource}. "
                    f"Requested: {pick.needed}, Available: {len(available)}"
                )
            aligned, unaligned, without = filter_by_affinity(entry, hint, available)
            endpoint = entry.active
        if endpoint is None:
            raise AdmissionError(f"endpoint not found in cache for a registered resource: {resource}")
        asks = endpoint.options is not None and endpoint.options.get_preferred_allocation_available
        with self.manager.events() as events:

            def preferred(offered: set[str]) -> list[str]:
                if not asks:
                    return []
                return self._call_preferred(
                    events,
                    pod,
                    container,
                    resource,
                    endpoint,
                    sorted(offered | set(pick.chosen)),
                    sorted(pick.chosen),
                    required,
                )

            if pick.needed < len(aligned):
                if pick.take([d for d in preferred(aligned) if d in aligned]) or pick.take(sorted(aligned)):
                    return pick.chosen
                raise pick.short()
            if pick.take(sorted(aligned)):
                return pick.chosen
            if pick.take([d for d in preferred(available) if d in available]):
                return pick.chosen
            if pick.take(sorted(unaligned)) or pick.take(sorted(without)):
                return pick.chosen
            raise pick.short()

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
                    events,
                    resource,
                    endpoint.client,
                    "GetPreferredAllocation",
                    request,
                    about=about(pod, container),
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
                    response = manager.call(
                        events, resource, endpoint.client, "Allocate", request, about=about(pod, container)
                    )
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


def about(pod: Pod, container: Container) -> dict[str, Any]:
    return {"pod": pod.name, "container": container.name}
