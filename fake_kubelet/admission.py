"""Pod admission, as the kubelet's resource-allocating admit handler and TopologyManager do it.

One pod at a time: stale allocations of pods that are no longer active are dropped
first (UpdateAllocatedDevices); then, per container (init containers first, then app
containers), the TopologyManager merges the CPU and device hints (policy ``none``: no
hints), and the CPU manager and the device allocator take what the container asks for,
with the devices of earlier regular init containers offered for reuse. Then the kubelet's
predicate check for extended resources the device manager does not handle. A rejected
pod frees what it held.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fake_kubelet.allocator import DeviceAllocator
from fake_kubelet.cpu_manager import CpuManager
from fake_kubelet.errors import AdmissionError
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import DeviceManager
from fake_kubelet.names import is_extended_resource_name
from fake_kubelet.numa import TopologyHint
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pod_manager import PodManager, PodRecord
from fake_kubelet.pods import UNEXPECTED_ADMISSION_ERROR, Admission, Container, Pod
from fake_kubelet.topology_hints import DeviceHints
from fake_kubelet.topology_manager import (
    TOPOLOGY_AFFINITY_ERROR,
    TOPOLOGY_AFFINITY_MESSAGE,
    ProviderHints,
    TopologyPolicy,
)

__all__ = ["AdmissionError", "PodAdmitter"]


class _TopologyRejected(Exception):
    """The TopologyManager's policy cannot admit the pod (TopologyAffinityError)."""


class PodAdmitter:
    """Admits pods into the pod manager, aligning their resources as the topology policy says."""

    def __init__(
        self,
        manager: DeviceManager,
        pod_devices: PodDevices,
        allocator: DeviceAllocator,
        pods: PodManager,
        topology: TopologyPolicy,
        cpus: CpuManager,
    ) -> None:
        self.manager = manager
        self.pod_devices = pod_devices
        self.allocator = allocator
        self.pods = pods
        self.topology = topology
        self.cpus = cpus
        self.device_hints = DeviceHints(manager, pod_devices, topology.numa_nodes)
        self.lock = threading.RLock()  # the kubelet admits one pod at a time
        self._hints: dict[tuple[str, str], TopologyHint] = {}  # the topology store

    def admit(self, pod: Pod, readmission: bool = False) -> Admission:
        """Admit ``pod``: align and allocate its resources, or reject it as the kubelet would."""
        with self.lock:
            record = self.pods.add(pod)
            self.collect_garbage()
            reason, message = None, ""
            try:
                self._allocate(record)
                reason, message = self._check_node_resources(record.pod)
            except _TopologyRejected:
                reason, message = TOPOLOGY_AFFINITY_ERROR, TOPOLOGY_AFFINITY_MESSAGE
            except AdmissionError as error:
                reason, message = (
                    UNEXPECTED_ADMISSION_ERROR,
                    f"Allocate failed due to {error}, which is unexpected",
                )
            admitted = reason is None
            with self.manager.lock:
                if admitted:
                    record.mark_admitted()  # a pod admitted again keeps its containers as they are
                else:
                    # A rejected pod is not active: what it held is freed (the kubelet's GC).
                    self._free(record.pod)
                    record.mark_rejected(reason or "", message)
                allocations = self.pod_devices.pod_allocations(record.pod) if admitted else []
                self.manager.write_checkpoint()
            self.manager.log.append(
                SOURCE,
                "admit",
                pod=pod.name,
                admitted=admitted,
                reason=reason,
                message=message,
                readmission=readmission,
            )
            return Admission(pod.name, admitted, allocations, reason, message)

    def hint(self, pod: Pod, container: str) -> TopologyHint | None:
        """The affinity the TopologyManager stored for a container (None: none stored)."""
        with self.manager.lock:
            return self._hints.get((pod.uid, container))

    def collect_garbage(self) -> None:
        """UpdateAllocatedDevices: drop what pods that are no longer active still hold."""
        active = self.pods.active_uids()
        with self.manager.lock:
            for uid in self.pod_devices.pod_uids() - active:
                self.pod_devices.remove_pod(uid)
                self.cpus.remove_pod(uid)
            for key in [k for k in self._hints if k[0] not in active]:
                del self._hints[key]

    def free(self, pod: Pod) -> None:
        with self.manager.lock:
            self._free(pod)

    def _free(self, pod: Pod) -> None:
        self.pod_devices.remove_pod(pod.uid)
        self.cpus.remove_pod(pod.uid)
        for key in [k for k in self._hints if k[0] == pod.uid]:
            del self._hints[key]

    # -- the TopologyManager's scopes -------------------------------------------------------------
    def _allocate(self, record: PodRecord) -> None:
        pod = record.pod
        reusable: dict[str, set[str]] = {}
        containers = [*pod.init_containers, *pod.containers]
        if not self.topology.aligns:
            for container in containers:
                self._allocate_container(record, container, reusable, None)
            return
        if self.topology.scope == "pod":
            hint = self._merge(pod, None, [self.device_hints.pod_hints(pod), self.cpus.pod_hints(pod)])
            for container in containers:
                self._store(pod, container, hint)
                self._allocate_container(record, container, reusable, hint)
            return
        for container in containers:
            providers = [
                self.cpus.container_hints(pod, container),
                self.device_hints.container_hints(pod, container, reusable),
            ]
            hint = self._merge(pod, container, providers)
            self._store(pod, container, hint)
            self._allocate_container(record, container, reusable, hint)

    def _merge(
        self, pod: Pod, container: Container | None, providers: Sequence[ProviderHints]
    ) -> TopologyHint:
        hint, admit = self.topology.merge(providers)
        self.manager.log.append(
            SOURCE,
            "topology_hint",
            pod=pod.name,
            container=container.name if container is not None else None,
            policy=self.topology.policy,
            scope=self.topology.scope,
            providers={
                r: None if h is None else [x.to_dict() for x in h] for p in providers for r, h in p.items()
            },
            **hint.to_dict(),
            admit=admit,
        )
        if not admit:
            raise _TopologyRejected()
        return hint

    def _store(self, pod: Pod, container: Container, hint: TopologyHint) -> None:
        with self.manager.lock:
            self._hints[(pod.uid, container.name)] = hint

    def _allocate_container(
        self,
        record: PodRecord,
        container: Container,
        reusable: dict[str, set[str]],
        hint: TopologyHint | None,
    ) -> None:
        pod = record.pod
        self.cpus.allocate(pod, container, hint)
        self.allocator.allocate(pod, container, reusable, container.name in record.running, hint)
        for resource, alloc in self.pod_devices.container(pod.uid, container.name).items():
            if container in pod.init_containers and not container.restartable:
                reusable.setdefault(resource, set()).update(alloc.devices)
            else:
                reusable.setdefault(resource, set()).difference_update(alloc.devices)

    def _check_node_resources(self, pod: Pod) -> tuple[str | None, str]:
        """The kubelet's predicate admission for extended resources the device manager skipped.

        A resource absent from the node's allocatable is dropped from the check (the
        kubelet's removeMissingExtendedResources); one kept at 0 after the grace period
        rejects the pod with ``OutOf<resource>``.
        """
        manager = self.manager
        others = [r.pod for r in self.pods.active() if r.pod.uid != pod.uid]
        with manager.lock:
            names = {r for c in (*pod.init_containers, *pod.containers) for r in c.limits}
            for resource in sorted(names):
                requested = pod.request(resource)
                if requested == 0 or not is_extended_resource_name(resource):
                    continue
                if manager.is_device_plugin_resource(resource) or not manager.table.on_node(resource):
                    continue
                allocatable = (manager.table.counts(resource) or (0, 0))[1]
                used = sum(p.request(resource) for p in others)
                if requested > allocatable - used:
                    return (
                        f"OutOf{resource}",
                        f"Node didn't have enough resource: {resource}, "
                        f"requested: {requested}, used: {used}, capacity: {allocatable}",
                    )
        return None, ""
