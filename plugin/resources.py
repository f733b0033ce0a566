"""Resource and device model: names, socket names, and the devices one resource advertises.

A :class:`Device` is what the kubelet sees as one device ID (a full GPU, a MIG device, or a
time-slicing replica of either) together with what the plugin needs to answer for it: the ID
the runtime gets, the parent GPU (health events arrive per GPU), NUMA node and device nodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RESOURCE_PREFIX = "nvidia.com"
DEFAULT_RESOURCE = "nvidia.com/gpu"
_NAME_PART = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def full_resource_name(name: str) -> str:
    """``gpu`` → ``nvidia.com/gpu``; names must be ``nvidia.com/<name>`` and at most 63 characters."""
    if "/" not in name:
        name = f"{RESOURCE_PREFIX}/{name}"
    prefix, _, short = name.partition("/")
    if prefix != RESOURCE_PREFIX:
        raise ValueError(f"resource name {name!r} must use the prefix {RESOURCE_PREFIX}/")
    if not short or len(short) > 63 or not _NAME_PART.match(short):
        raise ValueError(f"resource name {name!r} is not a valid extended resource name")
    return name


def socket_name(resource: str) -> str:
    """``nvidia.com/gpu`` → ``nvidia-gpu.sock``; ``nvidia.com/mig-1g.10gb`` → ``nvidia-mig-1g.10gb.sock``."""
    return f"nvidia-{resource.partition('/')[2]}.sock"


def mig_resource_name(profile: str) -> str:
    """``1g.10gb+me`` → ``nvidia.com/mig-1g.10gb.me`` (NVIDIA replaces ``+`` with ``.``)."""
    return f"{RESOURCE_PREFIX}/mig-{profile.replace('+', '.')}"


@dataclass(frozen=True)
class Device:
    """One device ID as advertised to the kubelet."""

    id: str  # advertised ID: GPU-…, MIG-…, or either with ::<n>
    uuid: str  # the device's own UUID (GPU or MIG), what the runtime gets with --device-id-strategy=uuid
    index: str  # "0", or "<gpu>:<mig>" for a MIG device
    gpu_uuid: str  # the physical GPU's UUID (health events, replica grouping)
    gpu_index: int
    minor: int  # the physical GPU's minor number → /dev/nvidia<minor>
    pci_bus_id: str
    numa_node: int | None = None
    gi: int | None = None  # MIG GPU instance id
    ci: int | None = None  # MIG compute instance id
    replica: int | None = None

    @property
    def is_mig(self) -> bool:
        return self.gi is not None


@dataclass(frozen=True)
class Resource:
    """A resource the plugin serves on its own socket."""

    name: str
    devices: tuple[Device, ...]
    replicas: int = 1
    fail_requests_greater_than_one: bool = False
    mps: bool = False  # shared through MPS (Allocate adds the MPS pipe and shm)
    # Served by NVIDIA's tegra resource manager (plugin.tegra): no device nodes, no health checks,
    # greedy preferred allocation with the distributed policy.
    tegra: bool = False

    @property
    def socket_name(self) -> str:
        return socket_name(self.name)

    @property
    def shared(self) -> bool:
        return self.replicas > 1

    def by_id(self) -> dict[str, Device]:
        return {d.id: d for d in self.devices}
