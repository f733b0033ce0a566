"""Sharing (time-slicing or MPS): the ``sharing`` config section and the replicas it makes.

Each GPU (or MIG device) of a shared resource is advertised ``replicas`` times as
``<uuid>::0`` … ``<uuid>::<n-1>``; the replicas share health and topology. With
``renameByDefault`` the resource becomes ``<name>.shared`` (``nvidia.com/gpu.shared``). As in
NVIDIA's v0.20, ``mps`` wins over ``timeSlicing`` when both are given, and MPS fails requests for
more than one replica unless ``failRequestsGreaterThanOne: false`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from plugin.errors import ConfigError, InitError
from plugin.replicas import ReplicatedResource, parse_replicated
from plugin.resources import Device, Resource

REPLICA_SEPARATOR = "::"


class Strategy(StrEnum):
    TIME_SLICING = "time-slicing"
    MPS = "mps"


SECTION = {Strategy.TIME_SLICING: "timeSlicing", Strategy.MPS: "mps"}


@dataclass(frozen=True)
class Sharing:
    strategy: Strategy = Strategy.TIME_SLICING
    rename_by_default: bool = False
    fail_requests_greater_than_one: bool = False
    resources: tuple[ReplicatedResource, ...] = ()

    def entry_for(self, resource: str) -> ReplicatedResource | None:
        for entry in self.resources:
            if entry.name == resource:
                return entry
        return None

    def replicas_for(self, resource: str) -> int | None:
        entry = self.entry_for(resource)
        return entry.replicas if entry else None

    @property
    def mps(self) -> bool:
        return self.strategy == Strategy.MPS


def replica_id(device_id: str, n: int) -> str:
    return f"{device_id}{REPLICA_SEPARATOR}{n}"


def strip_replica(device_id: str) -> str:
    """``GPU-x::3`` → ``GPU-x``; IDs without a replica suffix are returned unchanged."""
    return device_id.split(REPLICA_SEPARATOR, 1)[0]


def parse_sharing(section: Any, where: str, warnings: list[str]) -> Sharing | None:
    """Parse the ``sharing`` section; ``where`` names the file for error messages."""
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: sharing: expected a mapping, got {section!r}")
    for key in section:
        if key not in SECTION.values():
            warnings.append(f"{where}: sharing.{key} is not known and was ignored")
    parsed: dict[Strategy, Sharing] = {}
    for strategy, key in SECTION.items():
        if section.get(key) is None:
            continue
        rename, fail_gt_one, entries = parse_replicated(
            section[key], f"{where}: sharing.{key}", key, warnings
        )
        if fail_gt_one is None:
            fail_gt_one = strategy == Strategy.MPS  # NVIDIA keeps MPS's historical default: true
        parsed[strategy] = Sharing(strategy, rename, fail_gt_one, entries)
    return parsed.get(Strategy.MPS) or parsed.get(Strategy.TIME_SLICING)


def apply_sharing(
    base: dict[str, list[Device]], sharing: Sharing | None, warnings: list[str], *, tegra: bool = False
) -> list[Resource]:
    """Turn resource → devices into served resources, replicating the shared ones."""
    if sharing is not None and sharing.mps and any(d.is_mig for ds in base.values() for d in ds):
        raise InitError("sharing using MPS is not supported for MIG devices")
    served: list[Resource] = []
    names = set(base)
    if sharing is not None:
        for entry in sharing.resources:
            if entry.name not in names:
                warnings.append(
                    f"sharing.{SECTION[sharing.strategy]}: resource {entry.name} has no devices on this node"
                )
    for name, devices in base.items():
        wanted = sharing.entry_for(name) if sharing is not None else None
        if sharing is None or wanted is None:
            # NVIDIA enables MPS on every resource once the strategy is MPS, shared or not.
            served.append(
                Resource(name, tuple(devices), mps=sharing is not None and sharing.mps, tegra=tegra)
            )
            continue
        replicated = tuple(
            replace(device, id=replica_id(device.id, n), replica=n)
            for device in devices
            for n in range(wanted.replicas)
        )
        served.append(
            Resource(
                wanted.rename or name,
                replicated,
                wanted.replicas,
                sharing.fail_requests_greater_than_one,
                mps=sharing.mps,
                tegra=tegra,
            )
        )
    return served
