"""Pods as the device manager sees them: containers with extended-resource limits.

Only limits are read (for extended resources a request must equal the limit).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

UNEXPECTED_ADMISSION_ERROR = "UnexpectedAdmissionError"


@dataclass(frozen=True)
class Container:
    """A container's extended-resource limits.

    ``restartable=True`` marks a sidecar (an init container with restartPolicy Always): it keeps its devices.
    """

    name: str
    limits: dict[str, int] = field(default_factory=dict)
    restartable: bool = False


@dataclass(frozen=True)
class Pod:
    name: str
    containers: list[Container] = field(default_factory=list)
    init_containers: list[Container] = field(default_factory=list)
    uid: str = ""
    namespace: str = "default"

    def __post_init__(self) -> None:
        if not self.uid:
            # Stable per name, so a checkpoint written by one FakeKubelet reads back in another.
            object.__setattr__(self, "uid", str(uuid.uuid5(uuid.NAMESPACE_URL, "pod:" + self.name)))
        names = [c.name for c in (*self.init_containers, *self.containers)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"pod {self.name!r} has more than one container named {duplicates}")

    def container(self, name: str) -> Container:
        for c in (*self.init_containers, *self.containers):
            if c.name == name:
                return c
        known = [c.name for c in (*self.init_containers, *self.containers)]
        raise KeyError(f"pod {self.name!r} has no container {name!r}; its containers are {known}")

    def request(self, resource: str) -> int:
        """The pod's effective request: max(largest init container, sum of app containers + sidecars)."""
        init_max = max(
            (c.limits.get(resource, 0) for c in self.init_containers if not c.restartable), default=0
        )
        steady = sum(c.limits.get(resource, 0) for c in self.containers)
        steady += sum(c.limits.get(resource, 0) for c in self.init_containers if c.restartable)
        return max(init_max, steady)


@dataclass(frozen=True)
class ContainerAllocation:
    """Devices of one resource given to one container, and the plugin's Allocate response (as a dict)."""

    container: str
    resource: str
    devices: list[str]
    response: dict[str, Any]


@dataclass(frozen=True)
class Admission:
    """The outcome of admitting a pod; on failure ``reason``/``message`` are the pod status'."""

    pod: str
    admitted: bool
    allocations: list[ContainerAllocation] = field(default_factory=list)
    reason: str | None = None
    message: str = ""

    def devices(self, container: str, resource: str) -> list[str]:
        for a in self.allocations:
            if a.container == container and a.resource == resource:
                return list(a.devices)
        return []


@dataclass(frozen=True)
class ContainerStart:
    """A container (re)start: ``error`` is the kubelet's message when it could not start."""

    pod: str
    container: str
    restart_count: int
    error: str | None = None
    run_options: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None
