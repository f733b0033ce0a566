"""The device manager's allocation cache: which devices each (pod, container, resource) holds.

The kubelet's ``podDevices``: filled by Allocate, read for container starts, written to
and restored from the checkpoint. It is plain data with its own lock; it calls nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet.pods import ContainerAllocation, Pod
from fake_kubelet.responses import response_to_dict

Key = tuple[str, str, str]  # (pod UID, container name, resource name)


@dataclass
class Allocation:
    """A cached allocation: devices by NUMA node (as checkpointed) and the plugin's response."""

    devices: list[str]
    numa: dict[int, list[str]]
    response: pb.ContainerAllocateResponse


class PodDevices:
    """Allocations keyed by (pod UID, container, resource)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._allocs: dict[Key, Allocation] = {}
        self._version = 0  # bumped on every change, so a writer can tell "nothing changed"

    @property
    def version(self) -> int:
        with self._lock:
            return self._version

    def get(self, pod_uid: str, container: str, resource: str) -> Allocation | None:
        with self._lock:
            return self._allocs.get((pod_uid, container, resource))

    def insert(self, pod_uid: str, container: str, resource: str, allocation: Allocation) -> None:
        with self._lock:
            self._allocs[(pod_uid, container, resource)] = allocation
            self._version += 1

    def remove_pod(self, pod_uid: str) -> None:
        with self._lock:
            doomed = [k for k in self._allocs if k[0] == pod_uid]
            for key in doomed:
                del self._allocs[key]
            self._version += bool(doomed)

    def container(self, pod_uid: str, container: str) -> dict[str, Allocation]:
        """The container's allocations by resource."""
        with self._lock:
            return {r: a for (uid, c, r), a in self._allocs.items() if uid == pod_uid and c == container}

    def in_use(self, resource: str) -> set[str]:
        """Devices of ``resource`` that some container holds."""
        with self._lock:
            return {d for (_, _, r), a in self._allocs.items() if r == resource for d in a.devices}

    def pod_resource_devices(self, pod_uid: str, resource: str) -> set[str]:
        """Devices of ``resource`` that any container of the pod holds."""
        with self._lock:
            return {
                d
                for (uid, _, r), a in self._allocs.items()
                if uid == pod_uid and r == resource
                for d in a.devices
            }

    def owners(self, resource: str, devices: list[str]) -> set[str]:
        """UIDs of the pods holding any of ``devices`` of ``resource``."""
        wanted = set(devices)
        with self._lock:
            return {
                uid for (uid, _, r), a in self._allocs.items() if r == resource and wanted & set(a.devices)
            }

    def pod_uids(self) -> set[str]:
        with self._lock:
            return {uid for uid, _, _ in self._allocs}

    def has_resource(self, resource: str) -> bool:
        with self._lock:
            return any(r == resource for (_, _, r) in self._allocs)

    def pod_allocations(self, pod: Pod) -> list[ContainerAllocation]:
        """The pod's allocations in container order (init containers first), as plain data."""
        result = []
        with self._lock:
            for container in (*pod.init_containers, *pod.containers):
                for resource in container.limits:
                    alloc = self._allocs.get((pod.uid, container.name, resource))
                    if alloc is not None:
                        result.append(
                            ContainerAllocation(
                                container.name,
                                resource,
                                list(alloc.devices),
                                response_to_dict(alloc.response),
                            )
                        )
        return result

    def to_entries(self) -> list[ckpt.PodDeviceEntry]:
        """The checkpoint's PodDeviceEntries, sorted by key."""
        with self._lock:
            return [
                ckpt.PodDeviceEntry(uid, container, resource, dict(a.numa), a.response)
                for (uid, container, resource), a in sorted(self._allocs.items())
            ]

    def restore(self, entries: list[ckpt.PodDeviceEntry]) -> None:
        """Replace the cache with the checkpoint's entries."""
        with self._lock:
            self._allocs = {
                (e.pod_uid, e.container, e.resource): Allocation(e.devices, dict(e.device_ids), e.response)
                for e in entries
            }
            self._version += 1
