"""Pod admission and container starts, as the kubelet's admit handler and container manager do them.

Per pod, one at a time: containers in order (init containers first, then app
containers), each through the device allocator, with the devices of earlier regular
init containers offered for reuse; then the kubelet's predicate check for extended
resources the device manager does not handle. A rejected pod frees what it held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fake_kubelet.allocator import DeviceAllocator
from fake_kubelet.errors import AdmissionError
from fake_kubelet.manager import DeviceManager
from fake_kubelet.names import is_extended_resource_name
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pods import UNEXPECTED_ADMISSION_ERROR, Admission, ContainerAllocation, ContainerStart, Pod

__all__ = ["AdmissionError", "PodAdmitter"]


@dataclass
class _PodRecord:
    pod: Pod
    starts: dict[str, int] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)


class PodAdmitter:
    """Admits pods and (re)starts their containers; the active pods live here."""

    def __init__(self, manager: DeviceManager, pod_devices: PodDevices, allocator: DeviceAllocator) -> None:
        self.manager = manager
        self.pod_devices = pod_devices
        self.allocator = allocator
        self._pods: dict[str, _PodRecord] = {}  # guarded by the manager's lock
        self._admit_lock = threading.RLock()  # the kubelet admits one pod at a time

    def admit(self, pod: Pod) -> Admission:
        """Admit ``pod``: allocate devices for each container, or fail as the kubelet would."""
        manager = self.manager
        with self._admit_lock:
            previous = self._pods.get(pod.name)
            if previous is not None and previous.pod.uid != pod.uid:
                raise ValueError(f"another pod named {pod.name!r} is admitted; delete_pod() it first")
            record = previous or _PodRecord(pod)
            record.pod = pod
            with manager.lock:
                self._pods[pod.name] = record
            reason: str | None = None
            message = ""
            try:
                reusable: dict[str, set[str]] = {}
                for container in pod.init_containers:
                    self.allocator.allocate(pod, container, reusable, container.name in record.running)
                    for resource, alloc in self.pod_devices.container(pod.uid, container.name).items():
                        if container.restartable:
                            reusable.setdefault(resource, set()).difference_update(alloc.devices)
                        else:
                            reusable.setdefault(resource, set()).update(alloc.devices)
                for container in pod.containers:
                    self.allocator.allocate(pod, container, reusable, container.name in record.running)
                    for resource, alloc in self.pod_devices.container(pod.uid, container.name).items():
                        reusable.setdefault(resource, set()).difference_update(alloc.devices)
                reason, message = self._check_node_resources(pod)
            except AdmissionError as error:
                reason = UNEXPECTED_ADMISSION_ERROR
                message = f"Allocate failed due to {error}, which is unexpected"
            admitted = reason is None
            with manager.lock:
                if not admitted:
                    # A rejected pod is not active: its devices are freed (the kubelet's GC).
                    self.pod_devices.remove_pod(pod.uid)
                    self._pods.pop(pod.name, None)
                allocations = self.pod_devices.pod_allocations(pod) if admitted else []
                manager.write_checkpoint()
            manager.log.append(
                "kubelet", "admit", pod=pod.name, admitted=admitted, reason=reason, message=message
            )
            return Admission(pod.name, admitted, allocations, reason, message)

    def start_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Start (or restart) a container: PreStartContainer when required, then its run options."""
        with self._admit_lock:
            record = self._record(pod)
            spec = record.pod.container(container)
            restart_count = record.starts.get(container, 0)
            record.starts[container] = restart_count + 1
            error = None
            options: dict[str, Any] = {}
            try:
                options = self.allocator.run_container_options(record.pod, spec, container in record.running)
            except AdmissionError as failure:
                error = str(failure)
            if error is None:
                record.running.add(container)
            else:
                record.running.discard(container)
            self.manager.log.append(
                "kubelet",
                "container_start",
                pod=record.pod.name,
                container=container,
                restart_count=restart_count,
                error=error,
            )
            return ContainerStart(record.pod.name, container, restart_count, error, options)

    def restart_container(self, pod: str | Pod, container: str) -> ContainerStart:
        """Restart a started container: the cached allocation is reused, PreStart runs again."""
        with self._admit_lock:
            record = self._record(pod)
            if not record.starts.get(container):
                raise ValueError(f"container {container!r} of pod {record.pod.name!r} was never started")
            record.running.discard(container)
            return self.start_container(pod, container)

    def delete_pod(self, pod: str | Pod) -> None:
        """The pod ends: its devices are free for other pods."""
        with self._admit_lock:
            record = self._record(pod)
            with self.manager.lock:
                self.pod_devices.remove_pod(record.pod.uid)
                del self._pods[record.pod.name]
                self.manager.write_checkpoint()
            self.manager.log.append("kubelet", "pod_deleted", pod=record.pod.name)

    def pods(self) -> list[str]:
        with self.manager.lock:
            return sorted(self._pods)

    def allocations(self, pod: str | Pod) -> list[ContainerAllocation]:
        """The cached allocations of a pod (after a restart: those read from the checkpoint)."""
        return self.pod_devices.pod_allocations(self._record(pod).pod)

    def _record(self, pod: str | Pod) -> _PodRecord:
        name = pod.name if isinstance(pod, Pod) else pod
        with self.manager.lock:
            record = self._pods.get(name)
        if record is None:
            raise KeyError(f"pod {name!r} is not admitted on this kubelet; admitted pods: {self.pods()}")
        return record

    def _check_node_resources(self, pod: Pod) -> tuple[str | None, str]:
        """The kubelet's predicate admission for extended resources the device manager skipped.

        A resource absent from the node's allocatable is dropped from the check (the
        kubelet's removeMissingExtendedResources); one kept at 0 after the grace period
        rejects the pod with ``OutOf<resource>``.
        """
        manager = self.manager
        with manager.lock:
            names = {r for c in (*pod.init_containers, *pod.containers) for r in c.limits}
            for resource in sorted(names):
                requested = pod.request(resource)
                if requested == 0 or not is_extended_resource_name(resource):
                    continue
                if manager.is_device_plugin_resource(resource) or not manager.table.on_node(resource):
                    continue
                allocatable = (manager.table.counts(resource) or (0, 0))[1]
                used = sum(r.pod.request(resource) for r in self._pods.values() if r.pod.uid != pod.uid)
                if requested > allocatable - used:
                    return (
                        f"OutOf{resource}",
                        f"Node didn't have enough resource: {resource}, "
                        f"requested: {requested}, used: {used}, capacity: {allocatable}",
                    )
        return None, ""
