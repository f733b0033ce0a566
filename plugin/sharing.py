"""Time-slicing: the ``sharing.timeSlicing`` config section and the replicas it makes.

Each GPU (or MIG device) of a shared resource is advertised ``replicas`` times as
``<uuid>::0`` … ``<uuid>::<n-1>``; the replicas share health and topology. With
``renameByDefault`` the resource becomes ``<name>.shared`` (``nvidia.com/gpu.shared``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from plugin.errors import ConfigError
from plugin.resources import Device, Resource, full_resource_name

REPLICA_SEPARATOR = "::"


@dataclass(frozen=True)
class ReplicatedResource:
    name: str
    replicas: int


@dataclass(frozen=True)
class TimeSlicing:
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = False
    resources: tuple[ReplicatedResource, ...] = ()

    def replicas_for(self, resource: str) -> int | None:
        for entry in self.resources:
            if entry.name == resource:
                return entry.replicas
        return None

    def shared_name(self, resource: str) -> str:
        return resource + ".shared" if self.rename_by_default else resource


def replica_id(device_id: str, n: int) -> str:
    return f"{device_id}{REPLICA_SEPARATOR}{n}"


def strip_replica(device_id: str) -> str:
    """``GPU-x::3`` → ``GPU-x``; IDs without a replica suffix are returned unchanged."""
    return device_id.split(REPLICA_SEPARATOR, 1)[0]


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def parse_sharing(section: Any, where: str, warnings: list[str]) -> TimeSlicing | None:
    """Parse the ``sharing`` section; ``where`` names the file for error messages."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: sharing: expected a mapping, got {section!r}")
    if "mps" in section and section["mps"] is not None:
        raise ConfigError(
            f"{where}: sharing.mps: MPS sharing is not supported by this plugin; use sharing.timeSlicing"
        )
    for key in section:
        if key not in ("timeSlicing", "mps"):
            warnings.append(f"{where}: sharing.{key} is not known and was ignored")
    ts = section.get("timeSlicing")
    if ts is None:
        return None
    at = f"{where}: sharing.timeSlicing"
    if not isinstance(ts, dict):
        raise ConfigError(f"{at}: expected a mapping, got {ts!r}")
    rename = _bool(ts.get("renameByDefault", False), f"{at}.renameByDefault")
    fail_gt_one = _bool(ts.get("failRequestsGreaterThanOne", False), f"{at}.failRequestsGreaterThanOne")
    raw = ts.get("resources")
    if not raw:
        raise ConfigError(f"{at}: no resources specified")
    if not isinstance(raw, list):
        raise ConfigError(f"{at}.resources: expected a list, got {raw!r}")
    entries: list[ReplicatedResource] = []
    for i, item in enumerate(raw):
        here = f"{at}.resources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{here}: expected a mapping with name and replicas, got {item!r}")
        name = item.get("name")
        if not name or not isinstance(name, str):
            raise ConfigError(f"{here}: no resource name specified")
        try:
            name = full_resource_name(name)
        except ValueError as exc:
            raise ConfigError(f"{here}.name: {exc}") from None
        if "replicas" not in item:
            raise ConfigError(f"{here}: no replicas specified")
        replicas = item["replicas"]
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise ConfigError(f"{here}.replicas: expected an integer, got {replicas!r}")
        if replicas < 2:
            raise ConfigError(f"{here}.replicas: number of replicas must be >= 2, got {replicas}")
        devices = item.get("devices", "all")
        if devices != "all":
            warnings.append(
                f"{here}.devices: only 'all' is honoured (as in NVIDIA's plugin); got {devices!r}"
            )
        if "rename" in item:
            warnings.append(f"{here}.rename is ignored (as in NVIDIA's plugin); use renameByDefault")
        if any(e.name == name for e in entries):
            raise ConfigError(f"{here}.name: resource {name} is listed twice")
        entries.append(ReplicatedResource(name, replicas))
    return TimeSlicing(rename, fail_gt_one, tuple(entries))


def apply_time_slicing(
    base: dict[str, list[Device]], sharing: TimeSlicing | None, warnings: list[str]
) -> list[Resource]:
    """Turn resource → devices into served resources, replicating the shared ones."""
    served: list[Resource] = []
    names = set(base)
    if sharing is not None:
        for entry in sharing.resources:
            if entry.name not in names:
                warnings.append(f"sharing.timeSlicing: resource {entry.name} has no devices on this node")
    for name, devices in base.items():
        replicas = sharing.replicas_for(name) if sharing is not None else None
        if not replicas:
            served.append(Resource(name, tuple(devices)))
            continue
        assert sharing is not None
        replicated = tuple(
            replace(device, id=replica_id(device.id, n), replica=n)
            for device in devices
            for n in range(replicas)
        )
        served.append(
            Resource(sharing.shared_name(name), replicated, replicas, sharing.fail_requests_greater_than_one)
        )
    return served
