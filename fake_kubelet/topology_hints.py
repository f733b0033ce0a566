"""The device manager as a TopologyManager hint provider (topology_hints.go).

Hints only for resources whose devices carry NUMA nodes; a container that already holds
devices gets the hints of those devices (a kubelet restart); a request the healthy, free
and reusable devices cannot cover gets no hint at all (``[]``). The aligned allocation
itself (``filter_by_affinity``) lives here too: it sorts free devices into those on the
hint's NUMA nodes, those on other nodes, and those without topology.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from fake_kubelet.manager import DeviceManager
from fake_kubelet.numa import Mask, TopologyHint, generate_hints
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.pods import Container, Pod
from fake_kubelet.resources import ResourceEntry

Hints = dict[str, list[TopologyHint] | None]


class DeviceHints:
    """GetTopologyHints / GetPodTopologyHints over the device manager's state."""

    def __init__(self, manager: DeviceManager, pod_devices: PodDevices, numa_nodes: Iterable[int]) -> None:
        self.manager = manager
        self.pod_devices = pod_devices
        self.numa_nodes = tuple(sorted(numa_nodes))

    def container_hints(self, pod: Pod, container: Container, reusable: dict[str, set[str]]) -> Hints:
        requests = {r: n for r, n in container.limits.items() if self.manager.is_device_plugin_resource(r)}
        out: Hints = {}
        with self.manager.lock:
            for resource, requested in requests.items():
                entry = self.manager.entry(resource)
                if entry is None or not _has_topology(entry):
                    out[resource] = None
                    continue
                held = self.pod_devices.get(pod.uid, container.name, resource)
                if held is not None and held.devices:
                    out[resource] = (
                        self._hints(entry, set(held.devices), set(), requested)
                        if len(held.devices) == requested
                        else []
                    )
                    continue
                available = entry.healthy - self.pod_devices.in_use(resource)
                reuse = reusable.get(resource, set())
                if len(available | reuse) < requested:
                    out[resource] = []
                    continue
                out[resource] = self._hints(entry, available, reuse, requested)
        return out

    def pod_hints(self, pod: Pod) -> Hints:
        resources = {r for c in (*pod.init_containers, *pod.containers) for r in c.limits}
        out: Hints = {}
        with self.manager.lock:
            for resource in sorted(r for r in resources if self.manager.is_device_plugin_resource(r)):
                requested = pod.request(resource)
                entry = self.manager.entry(resource)
                if entry is None or not _has_topology(entry):
                    out[resource] = None
                    continue
                held = self.pod_devices.pod_resource_devices(pod.uid, resource)
                if held:
                    out[resource] = (
                        self._hints(entry, held, set(), requested) if len(held) == requested else []
                    )
                    continue
                available = entry.healthy - self.pod_devices.in_use(resource)
                if len(available) < requested:
                    out[resource] = []
                    continue
                out[resource] = self._hints(entry, available, set(), requested)
        return out

    def _hints(
        self, entry: ResourceEntry, available: set[str], reusable: set[str], request: int
    ) -> list[TopologyHint]:
        def nodes(device: str) -> Mask:
            return frozenset(entry.devices.get(device, {}).get("numa") or ())

        return generate_hints(
            self.numa_nodes,
            everything=Counter(nodes(d) for d in entry.devices),
            available=Counter(nodes(d) for d in available),
            reusable=Counter(nodes(d) for d in reusable),
            request=request,
        )


def _has_topology(entry: ResourceEntry) -> bool:
    """deviceHasTopologyAlignment: any device of the resource names a NUMA node."""
    return any(d.get("numa") for d in entry.devices.values())


def filter_by_affinity(
    entry: ResourceEntry | None, hint: TopologyHint | None, available: set[str]
) -> tuple[set[str], set[str], set[str]]:
    """filterByAffinity: the free devices (on the hint's nodes, on other nodes, without topology).

    Without a hint or without topology every device is "without topology". A device on
    several nodes goes to the first of them in the kubelet's order: the hint's nodes, then
    other nodes, then none, each group by ascending device count (ties by node ID, where
    Go's order is unspecified).
    """
    if entry is None or hint is None or hint.affinity is None or not _has_topology(entry):
        return set(), set(), set(available)
    affinity = hint.affinity
    per_node: dict[int, set[str]] = {}
    for device in available:
        for node in entry.devices.get(device, {}).get("numa") or [-1]:
            per_node.setdefault(node, set()).add(device)

    def rank(node: int) -> tuple[int, int, int]:
        group = 0 if node in affinity else (2 if node == -1 else 1)
        return group, len(per_node[node]), node

    order = sorted(per_node, key=rank)
    aligned: set[str] = set()
    unaligned: set[str] = set()
    without: set[str] = set()
    for device in available:
        node = next(n for n in order if device in per_node[n])
        (without if node == -1 else aligned if node in affinity else unaligned).add(device)
    return aligned, unaligned, without
