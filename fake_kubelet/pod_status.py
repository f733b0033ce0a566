"""Pod status as the kubelet reports it, with ``allocatedResourcesStatus`` (KEP-4680).

With the ``ResourceHealthStatus`` feature gate, each app container's status lists, per
resource it holds, every device with the health the plugin last reported for it
(UpdateAllocatedResourcesStatus): ``Healthy`` when reported exactly so, ``Unhealthy``
otherwise, and ``Healthy`` when the plugin no longer lists it (the kubelet's fallback).
A lost stream does not change it: the kubelet keeps the last reported health there.
Without the gate the field is absent (None). The kubelet recomputes it when a device a
pod holds changes health; here it is computed when asked, and a ``pod_status`` event
tells when it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deviceplugin.v1beta1 import HEALTHY, UNHEALTHY
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import DeviceManager
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pod_manager import PodManager, PodRecord
from fake_kubelet.versions import RESOURCE_HEALTH_STATUS


@dataclass(frozen=True)
class ContainerStatus:
    name: str
    running: bool
    restart_count: int
    allocated_resources_status: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class PodStatus:
    """What ``kubectl get pod -o yaml`` would show of a pod's status, for the parts modelled."""

    name: str
    phase: str
    reason: str | None = None
    message: str = ""
    containers: list[ContainerStatus] = field(default_factory=list)

    def container(self, name: str) -> ContainerStatus | None:
        return next((c for c in self.containers if c.name == name), None)


class PodStatusReporter:
    def __init__(
        self, manager: DeviceManager, pod_devices: PodDevices, pods: PodManager, gates: dict[str, bool]
    ) -> None:
        self.manager = manager
        self.pod_devices = pod_devices
        self.pods = pods
        self.enabled = bool(gates.get(RESOURCE_HEALTH_STATUS))

    def health_changed(self, uids: set[str]) -> None:
        """A device these pods hold changed health: a ``pod_status`` event per pod, with its status."""
        for record in self.pods.records():
            if record.pod.uid in uids:
                status = self.status(record)
                self.manager.log.append(
                    SOURCE,
                    "pod_status",
                    pod=record.pod.name,
                    allocated_resources_status={
                        c.name: c.allocated_resources_status for c in status.containers
                    },
                )

    def status(self, record: PodRecord) -> PodStatus:
        pod = record.pod
        containers = [
            ContainerStatus(
                c.name,
                c.name in record.running,
                max(0, record.starts.get(c.name, 0) - 1),
                self.allocated_resources_status(pod.uid, c.name) if self.enabled else None,
            )
            for c in pod.containers
        ]
        return PodStatus(pod.name, record.phase, record.reason, record.message, containers)

    def allocated_resources_status(self, pod_uid: str, container: str) -> list[dict[str, Any]]:
        out = []
        with self.manager.lock:
            for resource, alloc in sorted(self.pod_devices.container(pod_uid, container).items()):
                entry = self.manager.entry(resource)
                resources = []
                for device in sorted(alloc.devices):
                    listed = entry.devices.get(device) if entry is not None else None
                    reported = listed["health"] if listed is not None else HEALTHY
                    resources.append(
                        {"resourceID": device, "health": HEALTHY if reported == HEALTHY else UNHEALTHY}
                    )
                out.append({"name": resource, "resources": resources})
        return out
