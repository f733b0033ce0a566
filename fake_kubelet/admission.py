"""Pod admission and container start, as the kubelet's device manager does them.

Per container (init containers first, in order, then app containers) and per
extended resource in its limits: choose devices (reuse of init-container devices,
healthy minus allocated, GetPreferredAllocation when the plugin offers it), then
Allocate with exactly one container per call, and cache the response. A container
start calls PreStartContainer when the plugin asks for it, on every (re)start.

No TopologyManager: devices are not NUMA-aligned (every device falls in the kubelet's
"no affinity" set), so the preferred-allocation request is the kubelet's
no-topology one. Where Go iterates a set, we use sorted order (deterministic).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet import contract
from fake_kubelet.errors import PluginCallError
from fake_kubelet.names import go_quote, is_extended_resource_name
from fake_kubelet.pods import (
    UNEXPECTED_ADMISSION_ERROR,
    Admission,
    Container,
    ContainerAllocation,
    ContainerStart,
    Pod,
)
from fake_kubelet.responses import merge_run_options, response_to_dict

if TYPE_CHECKING:
    from fake_kubelet.kubelet import FakeKubelet

EMPTY_ALLOCATE_RESPONSE = "&AllocateResponse{ContainerResponses:[]*ContainerAllocateResponse{},}"


class AdmissionError(Exception):
    """A device manager error; ``str()`` is the kubelet's message."""


@dataclass
class Allocation:
    """A cached allocation: devices by NUMA node (as checkpointed) and the plugin's response."""

    devices: list[str]
    numa: dict[int, list[str]]
    response: pb.ContainerAllocateResponse


@dataclass
class _PodRecord:
    pod: Pod
    starts: dict[str, int] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)


class AdmissionMixin:
    """The allocation half of :class:`FakeKubelet` (its state lives under the kubelet's lock)."""

    def __init__(self) -> None:
        self._allocs: dict[tuple[str, str, str], Allocation] = {}
        self._pods: dict[str, _PodRecord] = {}
        self._admit_lock = threading.RLock()  # the kubelet admits one pod at a time

    # -- public ------------------------------------------------------------------------------
    def admit(self: FakeKubelet, pod: Pod) -> Admission:
        """Admit ``pod``: allocate devices for each container, or fail as the kubelet would."""
        with self._admit_lock:
            previous = self._pods.get(pod.name)
            if previous is not None and previous.pod.uid != pod.uid:
                raise ValueError(f"another pod named {pod.name!r} is admitted; delete_pod() it first")
            record = previous or _PodRecord(pod)
            record.pod = pod
            with self._lock:
                self._pods[pod.name] = record
            reason, message = None, ""
            try:
                reusable: dict[str, set[str]] = {}
                for container in pod.init_containers:
                    self._allocate_container(pod, container, reusable)
                    for resource, alloc in self._container_allocs(pod, container).items():
                        if container.restartable:
                            reusable.setdefault(resource, set()).difference_update(alloc.devices)
                        else:
                            reusable.setdefault(resource, set()).update(alloc.devices)
                for container in pod.containers:
                    self._allocate_container(pod, container, reusable)
                    for resource, alloc in self._container_allocs(pod, container).items():
                        reusable.setdefault(resource, set()).difference_update(alloc.devices)
                reason, message = self._check_node_resources(pod)
            except AdmissionError as error:
                reason = UNEXPECTED_ADMISSION_ERROR
                message = f"Allocate failed due to {error}, which is unexpected"
            admitted = reason is None
            with self._lock:
                if not admitted:
                    # A rejected pod is not active: its devices are freed (the kubelet's GC).
                    self._drop_pod(pod)
                    self._pods.pop(pod.name, None)
                allocations = self._pod_allocations(pod) if admitted else []
                self._write_checkpoint()
            self.log.append(
                "kubelet", "admit", pod=pod.name, admitted=admitted, reason=reason, message=message
            )
            return Admission(pod.name, admitted, allocations, reason, message)

    def start_container(self: FakeKubelet, pod: str | Pod, container: str) -> ContainerStart:
        """Start (or restart) a container: PreStartContainer when required, then its run options."""
        with self._admit_lock:
            record = self._record(pod)
            spec = record.pod.container(container)
            restart_count = record.starts.get(container, 0)
            record.starts[container] = restart_count + 1
            error = None
            options: dict[str, Any] = {}
            try:
                options = self._run_container_options(record.pod, spec)
            except AdmissionError as failure:
                error = str(failure)
            if error is None:
                record.running.add(container)
            else:
                record.running.discard(container)
            self.log.append(
                "kubelet",
                "container_start",
                pod=record.pod.name,
                container=container,
                restart_count=restart_count,
                error=error,
            )
            return ContainerStart(record.pod.name, container, restart_count, error, options)

    def restart_container(self: FakeKubelet, pod: str | Pod, container: str) -> ContainerStart:
        """Restart a started container: the cached allocation is reused, PreStart runs again."""
        with self._admit_lock:
            record = self._record(pod)
            if not record.starts.get(container):
                raise ValueError(f"container {container!r} of pod {record.pod.name!r} was never started")
            record.running.discard(container)
            return self.start_container(pod, container)

    def delete_pod(self: FakeKubelet, pod: str | Pod) -> None:
        """The pod ends: its devices are free for other pods."""
        with self._admit_lock:
            record = self._record(pod)
            with self._lock:
                self._drop_pod(record.pod)
                del self._pods[record.pod.name]
                self._write_checkpoint()
            self.log.append("kubelet", "pod_deleted", pod=record.pod.name)

    def pods(self: FakeKubelet) -> list[str]:
        with self._lock:
            return sorted(self._pods)

    def allocations(self: FakeKubelet, pod: str | Pod) -> list[ContainerAllocation]:
        """The cached allocations of a pod (after a restart: those read from the checkpoint)."""
        with self._lock:
            return self._pod_allocations(self._record(pod).pod)

    def allocated_devices(self: FakeKubelet, resource: str) -> set[str]:
        with self._lock:
            return self._in_use(resource)

    # -- internals ---------------------------------------------------------------------------
    def _record(self: FakeKubelet, pod: str | Pod) -> _PodRecord:
        name = pod.name if isinstance(pod, Pod) else pod
        with self._lock:
            record = self._pods.get(name)
        if record is None:
            raise KeyError(f"pod {name!r} is not admitted on this kubelet; admitted pods: {self.pods()}")
        return record

    def _drop_pod(self: FakeKubelet, pod: Pod) -> None:
        for key in [k for k in self._allocs if k[0] == pod.uid]:
            del self._allocs[key]

    def _pod_allocations(self: FakeKubelet, pod: Pod) -> list[ContainerAllocation]:
        result = []
        for container in (*pod.init_containers, *pod.containers):
            for resource in container.limits:
                alloc = self._allocs.get((pod.uid, container.name, resource))
                if alloc is not None:
                    result.append(
                        ContainerAllocation(
                            container.name, resource, list(alloc.devices), response_to_dict(alloc.response)
                        )
                    )
        return result

    def _container_allocs(self: FakeKubelet, pod: Pod, container: Container) -> dict[str, Allocation]:
        with self._lock:
            return {r: a for (uid, c, r), a in self._allocs.items() if uid == pod.uid and c == container.name}

    def _in_use(self: FakeKubelet, resource: str) -> set[str]:
        return {d for (_, _, r), a in self._allocs.items() if r == resource for d in a.devices}

    def _is_device_plugin_resource(self: FakeKubelet, resource: str) -> bool:
        res = self._resources.get(resource)
        return (res is not None and res.reported) or any(r == resource for (_, _, r) in self._allocs)

    def _restore_allocations(self: FakeKubelet, entries: list[ckpt.PodDeviceEntry]) -> None:
        self._allocs = {
            (e.pod_uid, e.container, e.resource): Allocation(e.devices, dict(e.device_ids), e.response)
            for e in entries
        }

    def _check_node_resources(self: FakeKubelet, pod: Pod) -> tuple[str | None, str]:
        """The kubelet's predicate admission for extended resources the device manager skipped.

        A resource absent from the node's allocatable is dropped from the check (the
        kubelet's removeMissingExtendedResources); one kept at 0 after the grace period
        rejects the pod with ``OutOf<resource>``.
        """
        with self._lock:
            names = {r for c in (*pod.init_containers, *pod.containers) for r in c.limits}
            for resource in sorted(names):
                requested = pod.request(resource)
                if requested == 0 or not is_extended_resource_name(resource):
                    continue
                if self._is_device_plugin_resource(resource) or resource not in self._last_capacity:
                    continue
                allocatable = self.allocatable(resource)
                used = sum(r.pod.request(resource) for r in self._pods.values() if r.pod.uid != pod.uid)
                if requested > allocatable - used:
                    return (
                        f"OutOf{resource}",
                        f"Node didn't have enough resource: {resource}, "
                        f"requested: {requested}, used: {used}, capacity: {allocatable}",
                    )
        return None, ""

    def _allocate_container(
        self: FakeKubelet, pod: Pod, container: Container, reusable: dict[str, set[str]]
    ) -> None:
        """allocateContainerResources: one Allocate per resource with devices to allocate."""
        for resource, required in container.limits.items():
            with self._lock:
                if required == 0 or not self._is_device_plugin_resource(resource):
                    continue
            chosen = self._devices_to_allocate(
                pod, container, resource, required, reusable.get(resource, set())
            )
            if not chosen:
                continue
            response = self._call_allocate(pod, container, resource, chosen)
            with self._lock:
                res = self._resources.get(resource)
                numa: dict[int, list[str]] = {}
                for device in chosen:
                    nodes = (res.devices.get(device, {}).get("numa") if res else None) or [ckpt.NO_NUMA]
                    for node in nodes:
                        numa.setdefault(node, []).append(device)
                self._allocs[(pod.uid, container.name, resource)] = Allocation(list(chosen), numa, response)

    def _devices_to_allocate(
        self: FakeKubelet, pod: Pod, container: Container, resource: str, required: int, reusable: set[str]
    ) -> list[str]:
        pending: list = []
        with self._lock:
            existing = self._allocs.get((pod.uid, container.name, resource))
            if existing is not None and len(existing.devices) != required:
                raise AdmissionError(
                    f"pod {go_quote(pod.uid)} container {go_quote(container.name)} changed request for "
                    f"resource {go_quote(resource)} from {len(existing.devices)} to {required}"
                )
            record = self._pods.get(pod.name)
            if existing is not None and record is not None and container.name in record.running:
                return []  # kubelet restart: the container runs and already has its devices
            res = self._resources.get(resource)
            if res is None or not res.reported:
                raise AdmissionError(f"cannot allocate unregistered device {resource}")
            healthy = set(res.healthy)
            if not healthy:
                raise AdmissionError(
                    f"no healthy devices present; cannot allocate unhealthy devices {resource}"
                )
            if existing is not None and not healthy.issuperset(existing.devices):
                raise AdmissionError(
                    f"previously allocated devices are no longer healthy; cannot allocate unhealthy devices "
                    f"{resource}"
                )
            needed = required - (len(existing.devices) if existing else 0)
            if needed <= 0:
                return []
            chosen: list[str] = []
            for device in sorted(reusable):
                if needed == 0:
                    break
                chosen.append(device)
                needed -= 1
            if needed == 0:
                return chosen
            available = healthy - self._in_use(resource)
            if len(available) < needed:
                raise AdmissionError(
                    f"requested number of devices unavailable for {resource}. "
                    f"Requested: {needed}, Available: {len(available)}"
                )
            endpoint = res.active
        if endpoint is None:
            raise AdmissionError(f"endpoint not found in cache for a registered resource: {resource}")
        options = endpoint.options
        if options is not None and options.get_preferred_allocation_available:
            offered = sorted(available | set(chosen))
            preferred = self._call_preferred(
                pod, container, resource, endpoint, offered, list(chosen), required, pending
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
        self._publish(pending)
        return chosen

    def _call_preferred(
        self: FakeKubelet,
        pod: Pod,
        container: Container,
        resource: str,
        endpoint: Any,
        offered: list[str],
        must_include: list[str],
        size: int,
        pending: list,
    ) -> list[str]:
        data: dict[str, Any] = {
            "resource": resource,
            "pod": pod.name,
            "container": container.name,
            "available": offered,
            "must_include": must_include,
            "size": size,
            "response": None,
            "error": None,
        }
        started = time.monotonic()
        try:
            if endpoint.stopped or endpoint.client is None:
                raise PluginCallError(endpoint.stopped_error())
            request = pb.PreferredAllocationRequest(
                container_requests=[
                    pb.ContainerPreferredAllocationRequest(
                        available_deviceIDs=offered, must_include_deviceIDs=must_include, allocation_size=size
                    )
                ]
            )
            response = self._call(pending, resource, endpoint.client, "GetPreferredAllocation", request)
        except PluginCallError as failure:
            data["error"] = str(failure)
            data["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
            pending.append(("preferred_allocation", data))
            self._publish(pending)
            raise AdmissionError(
                f"device plugin GetPreferredAllocation rpc failed with err: {failure}"
            ) from None
        data["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        answers = list(response.container_responses)
        if len(answers) != 1:
            self._violation(
                pending,
                contract.RESPONSE_COUNT,
                resource,
                f"GetPreferredAllocation answered {len(answers)} container responses for 1 request",
            )
        preferred = list(answers[0].deviceIDs) if answers else []
        data["response"] = preferred if answers else None
        pending.append(("preferred_allocation", data))
        if answers:
            for rule, detail in contract.check_preferred(preferred, offered, must_include, size):
                self._violation(pending, rule, resource, detail)
        return preferred

    def _call_allocate(
        self: FakeKubelet, pod: Pod, container: Container, resource: str, devices: list[str]
    ) -> pb.ContainerAllocateResponse:
        pending: list = []
        with self._lock:
            res = self._resources.get(resource)
            endpoint = res.active if res else None
            if res is not None:
                for device in devices:
                    if device not in res.devices:
                        self._violation(
                            pending,
                            contract.ALLOCATE_UNKNOWN_DEVICE,
                            resource,
                            f"device {device!r} sent to Allocate is not listed by the plugin",
                        )
                    elif device not in res.healthy:
                        self._violation(
                            pending,
                            contract.ALLOCATE_UNHEALTHY_DEVICE,
                            resource,
                            f"device {device!r} sent to Allocate is not healthy",
                        )
        ids = sorted(devices)
        data: dict[str, Any] = {
            "resource": resource,
            "pod": pod.name,
            "container": container.name,
            "devices": ids,
            "response": None,
            "error": None,
        }
        started = time.monotonic()

        def fail(message: str) -> AdmissionError:
            data["error"] = message
            data["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
            pending.append(("allocate", data))
            self._publish(pending)
            return AdmissionError(message)

        if endpoint is None:
            raise fail(f"unknown Device Plugin {resource}")
        if endpoint.stopped or endpoint.client is None:
            raise fail(endpoint.stopped_error())
        request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=ids)])
        try:
            response = self._call(pending, resource, endpoint.client, "Allocate", request)
        except PluginCallError as failure:
            raise fail(str(failure)) from None
        answers = list(response.container_responses)
        if len(answers) != 1:
            self._violation(
                pending,
                contract.RESPONSE_COUNT,
                resource,
                f"Allocate answered {len(answers)} container responses for 1 container request",
            )
        if not answers:
            raise fail(f"no containers return in allocation response {EMPTY_ALLOCATE_RESPONSE}")
        for rule, detail in contract.check_container_response(answers[0]):
            self._violation(pending, rule, resource, detail)
        data["response"] = response_to_dict(answers[0])
        data["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        pending.append(("allocate", data))
        self._publish(pending)
        return answers[0]

    def _run_container_options(self: FakeKubelet, pod: Pod, container: Container) -> dict[str, Any]:
        """GetDeviceRunContainerOptions: PreStart per resource, lazy re-allocation, merged options."""
        needs_reallocate = False
        for resource, limit in container.limits.items():
            with self._lock:
                if limit == 0 or not self._is_device_plugin_resource(resource):
                    continue
            self._prestart_if_needed(pod, container, resource)
            with self._lock:
                if (pod.uid, container.name, resource) not in self._allocs:
                    needs_reallocate = True  # node-reboot race: no cached allocation
        if needs_reallocate:
            self._allocate_container(pod, container, {})
            with self._lock:
                self._write_checkpoint()
        with self._lock:
            responses = [
                response_to_dict(a.response) for a in self._container_allocs(pod, container).values()
            ]
        return merge_run_options(responses)

    def _prestart_if_needed(self: FakeKubelet, pod: Pod, container: Container, resource: str) -> None:
        with self._lock:
            res = self._resources.get(resource)
            endpoint = res.active if res else None
            alloc = self._allocs.get((pod.uid, container.name, resource))
        if endpoint is None:
            raise AdmissionError(f"endpoint not found in cache for a registered resource: {resource}")
        if endpoint.options is None or not endpoint.options.pre_start_required:
            return
        if alloc is None:
            raise AdmissionError(
                f"no devices found allocated in local cache for pod {pod.uid}, container "
                f"{container.name}, resource {resource}"
            )
        pending: list = []
        ids = sorted(alloc.devices)
        data: dict[str, Any] = {
            "resource": resource,
            "pod": pod.name,
            "container": container.name,
            "devices": ids,
            "error": None,
        }
        started = time.monotonic()
        try:
            if endpoint.stopped or endpoint.client is None:
                raise PluginCallError(endpoint.stopped_error())
            self._call(
                pending,
                resource,
                endpoint.client,
                "PreStartContainer",
                pb.PreStartContainerRequest(devices_ids=ids),
                timeout=self.prestart_timeout,
            )
        except PluginCallError as failure:
            data["error"] = str(failure)
        data["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
        pending.append(("prestart", data))
        self._publish(pending)
        if data["error"] is not None:
            raise AdmissionError(f"device plugin PreStartContainer rpc failed with err: {data['error']}")
