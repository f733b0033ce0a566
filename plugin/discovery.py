"""Enumerate the node's GPUs and MIG devices through the given NVML object.

Discovery reads what the resource builders need and nothing else: identity, minor number, PCI
bus id, NUMA node, MIG mode and the MIG devices with their GI/CI and profile. NUMA comes from
``nvmlDeviceGetNumaNodeId`` (NVIDIA reads ``/sys/bus/pci/devices/<bus>/numa_node``; we ask NVML so
that a simulated node can drive it); NotSupported means "no topology", not a fault.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plugin.nvmlutil import (
    FUNCTION_NOT_FOUND,
    GPU_IS_LOST,
    NOT_FOUND,
    NOT_SUPPORTED,
    NVMLError,
    is_code,
    text,
)

_MIG_NAME = re.compile(r"\bMIG\s+(\S+)\s*$")


@dataclass(frozen=True)
class MigInfo:
    index: int  # slot in the parent (nvmlDeviceGetMigDeviceHandleByIndex)
    uuid: str
    gi: int
    ci: int
    profile: str  # e.g. "1g.10gb", "1g.10gb+me", "1c.3g.40gb"
    whole_instance: bool  # compute slices == GPU slices (only these are exposed under "mixed")


@dataclass(frozen=True)
class DiscoveredGpu:
    index: int
    uuid: str
    name: str
    minor: int
    pci_bus_id: str
    numa_node: int | None
    mig_enabled: bool
    migs: tuple[MigInfo, ...] = field(default_factory=tuple)


def numa_node(nvml: Any, handle: Any) -> int | None:
    getter = getattr(nvml, "nvmlDeviceGetNumaNodeId", None)
    if getter is None:
        return None
    try:
        node = int(getter(handle))
    except NVMLError as exc:
        if is_code(exc, NOT_SUPPORTED, FUNCTION_NOT_FOUND):
            return None
        raise
    return node if node >= 0 else None


def _mig_enabled(nvml: Any, handle: Any) -> bool:
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except NVMLError as exc:
        if is_code(exc, NOT_SUPPORTED, FUNCTION_NOT_FOUND):
            return False
        raise
    return int(current) == 1


def mig_profile(nvml: Any, handle: Any) -> tuple[str, bool]:
    """A MIG device's profile name, from its NVML name or else from its attributes."""
    attrs = None
    try:
        attrs = nvml.nvmlDeviceGetAttributes(handle)
    except NVMLError:
        attrs = None
    whole = True
    if attrs is not None:
        whole = int(attrs.computeInstanceSliceCount) == int(attrs.gpuInstanceSliceCount)
    match = _MIG_NAME.search(text(nvml.nvmlDeviceGetName(handle)))
    if match:
        return match.group(1), whole
    if attrs is None:
        raise ValueError("cannot tell the MIG profile: no 'MIG <profile>' in the name and no attributes")
    g, c = int(attrs.gpuInstanceSliceCount), int(attrs.computeInstanceSliceCount)
    gb = math.ceil(int(attrs.memorySizeMB) / 1024)
    return (f"{g}g.{gb}gb" if g == c else f"{c}c.{g}g.{gb}gb"), whole


def _migs(nvml: Any, handle: Any) -> tuple[MigInfo, ...]:
    migs = []
    for slot in range(int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
        except NVMLError as exc:
            if is_code(exc, NOT_FOUND):
                continue
            raise
        profile, whole = mig_profile(nvml, mig)
        migs.append(
            MigInfo(
                index=slot,
                uuid=text(nvml.nvmlDeviceGetUUID(mig)),
                gi=int(nvml.nvmlDeviceGetGpuInstanceId(mig)),
                ci=int(nvml.nvmlDeviceGetComputeInstanceId(mig)),
                profile=profile,
                whole_instance=whole,
            )
        )
    return tuple(migs)


def discover(
    nvml: Any, known: Sequence[DiscoveredGpu] = (), lost: list[DiscoveredGpu] | None = None
) -> list[DiscoveredGpu]:
    """Every GPU NVML reports, in index order (raises NVMLError on a failing query).

    A GPU that is lost (``GpuIsLost``) at an index where ``known`` (the last inventory) had one
    is taken from ``known`` and appended to ``lost`` instead: a rebuild during an outage keeps
    serving it (Unhealthy) rather than serving nothing.
    """
    by_index = {g.index: g for g in known}
    gpus = []
    for index in range(int(nvml.nvmlDeviceGetCount())):
        try:
            gpus.append(_gpu(nvml, index))
        except NVMLError as exc:
            if lost is None or not is_code(exc, GPU_IS_LOST) or index not in by_index:
                raise
            gpus.append(by_index[index])
            lost.append(by_index[index])
    return gpus


def _gpu(nvml: Any, index: int) -> DiscoveredGpu:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    enabled = _mig_enabled(nvml, handle)
    return DiscoveredGpu(
        index=index,
        uuid=text(nvml.nvmlDeviceGetUUID(handle)),
        name=text(nvml.nvmlDeviceGetName(handle)),
        minor=int(nvml.nvmlDeviceGetMinorNumber(handle)),
        pci_bus_id=text(nvml.nvmlDeviceGetPciInfo(handle).busId),
        numa_node=numa_node(nvml, handle),
        mig_enabled=enabled,
        migs=_migs(nvml, handle) if enabled else (),
    )
