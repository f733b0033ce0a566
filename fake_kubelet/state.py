"""Read-only snapshots of the device manager's state, for tests and the harness."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DeviceState:
    """A device as last listed by the plugin; ``health`` is the kubelet's view (Healthy/Unhealthy)."""

    id: str
    health: str
    numa: list[int] = field(default_factory=list)
    reported_health: str = ""


@dataclass(frozen=True)
class EndpointState:
    resource: str
    socket_path: str
    endpoint: str
    options: dict[str, bool] | None
    stopped: bool
    stop_time: float | None


@dataclass(frozen=True)
class ResourceState:
    """One extended resource: node capacity/allocatable as the kubelet reports them, and why.

    ``removed`` means the grace period expired: the key stays on the node with capacity 0.
    """

    name: str
    capacity: int
    allocatable: int
    devices: list[DeviceState]
    endpoint: EndpointState | None
    endpoints: list[EndpointState]
    removed: bool = False

    @property
    def options(self) -> dict[str, bool] | None:
        return self.endpoint.options if self.endpoint else None

    @property
    def stopped(self) -> bool:
        return self.endpoint is None or self.endpoint.stopped

    @property
    def healthy(self) -> list[str]:
        return [d.id for d in self.devices if d.health == "Healthy"]
