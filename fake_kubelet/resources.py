"""Per-resource state: endpoints and device sets, and the node status the kubelet derives from them.

``ResourceEntry`` is what the device manager holds for one resource (its endpoints and
the device sets of the last ListAndWatch). ``ResourceTable`` adds what the node object
keeps: the last capacity/allocatable published, and the keys kept at 0 after the grace
period. Plain data; the device manager's lock guards it.
"""

from __future__ import annotations

from typing import Any

from deviceplugin.v1beta1 import HEALTHY, UNHEALTHY
from fake_kubelet.endpoint import Endpoint
from fake_kubelet.events import EventBatch
from fake_kubelet.state import DeviceState, EndpointState, ResourceState


class ResourceEntry:
    """The device manager's per-resource state: endpoints and the device sets of the last list."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.endpoints: dict[str, Endpoint] = {}  # socket path -> endpoint, oldest first
        self.devices: dict[str, dict[str, Any]] = {}
        self.healthy: set[str] = set()
        self.unhealthy: set[str] = set()
        self.reported = False  # the kubelet has device sets for it (its healthyDevices key exists)

    @property
    def active(self) -> Endpoint | None:
        """The endpoint calls go to: the newest live one, else the newest."""
        live = [e for e in self.endpoints.values() if not e.stopped]
        if live:
            return live[-1]
        return list(self.endpoints.values())[-1] if self.endpoints else None


class ResourceTable:
    """Resources the device manager knows, and the node status keys derived from them."""

    def __init__(self) -> None:
        self.entries: dict[str, ResourceEntry] = {}
        self.removed: set[str] = set()  # node status keys kept at capacity 0
        self._published: dict[str, tuple[int, int]] = {}  # the node's capacity/allocatable

    def add(self, name: str) -> ResourceEntry:
        entry = self.entries[name] = ResourceEntry(name)
        return entry

    def remove(self, name: str) -> None:
        """The grace period expired: the device manager forgets it, the node keeps the key at 0."""
        self.entries.pop(name, None)
        self.removed.add(name)

    def forget_unknown(self) -> None:
        """After a restart: keys the node still shows but the kubelet no longer knows go to 0."""
        for name in self._published:
            if name not in self.entries:
                self.removed.add(name)

    def on_node(self, name: str) -> bool:
        """The node status has a key for it (published once, at any value)."""
        return name in self._published

    def cancel_graces(self) -> None:
        for entry in self.entries.values():
            for endpoint in entry.endpoints.values():
                endpoint.cancel_grace()

    def names(self) -> list[str]:
        return sorted(set(self.entries) | self.removed)

    def counts(self, name: str) -> tuple[int, int] | None:
        """(capacity, allocatable), or None when the node has no such key."""
        entry = self.entries.get(name)
        if entry is not None and entry.reported:
            return len(entry.healthy) + len(entry.unhealthy), len(entry.healthy)
        if name in self.removed:
            return 0, 0
        return None

    def capacity_events(self, events: EventBatch) -> None:
        """A ``capacity`` event for every resource whose node status changed."""
        for name in self.names():
            counts = self.counts(name)
            if counts is None or self._published.get(name) == counts:
                continue
            self._published[name] = counts
            events.add("capacity", {"resource": name, "capacity": counts[0], "allocatable": counts[1]})

    def snapshot(self, name: str) -> ResourceState:
        entry = self.entries.get(name)
        capacity, allocatable = self.counts(name) or (0, 0)
        if entry is None:
            return ResourceState(name, capacity, allocatable, [], None, [], removed=True)
        devices = [
            DeviceState(
                d["id"], HEALTHY if d["id"] in entry.healthy else UNHEALTHY, list(d["numa"]), d["health"]
            )
            for d in entry.devices.values()
        ]
        endpoints = [_endpoint_state(e) for e in entry.endpoints.values()]
        active = entry.active
        return ResourceState(
            name, capacity, allocatable, devices, _endpoint_state(active) if active else None, endpoints
        )


def _endpoint_state(e: Endpoint) -> EndpointState:
    return EndpointState(e.resource, e.socket_path, e.endpoint, e.options_dict(), e.stopped, e.stop_time)
