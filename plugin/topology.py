"""Pairwise GPU affinity for preferred allocation: NVLink links, PCIe distance, NUMA.

Scores only order candidate sets; what matters is more NVLinks > closer on PCIe > same NUMA
node. Every query is best effort: NotSupported (VMs, PCIe cards without NVLink) simply adds
nothing, so the allocator falls back to NUMA, then to index order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugin.discovery import DiscoveredGpu
from plugin.nvmlutil import NVMLError, const, text

NVLINK_SCORE = 100
# nvmlDeviceGetTopologyCommonAncestor level → score (closer is better).
_PCIE_SCORES = {0: 60, 10: 50, 20: 40, 30: 30, 40: 20, 50: 10}
SAME_NUMA_SCORE = 20
OTHER_NUMA_SCORE = 10


def _bus_key(bus_id: str) -> str:
    """Compare PCI bus ids regardless of domain width and case (00000000:3B:00.0 vs 0000:3b:00.0)."""
    domain, _, rest = bus_id.strip().lower().partition(":")
    return f"{int(domain or '0', 16):x}:{rest}"


def nvlink_counts(nvml: Any, gpus: Sequence[DiscoveredGpu]) -> dict[frozenset[str], int]:
    by_bus = {_bus_key(g.pci_bus_id): g.uuid for g in gpus}
    counts: dict[frozenset[str], int] = {}
    max_links = int(const(nvml, "NVML_NVLINK_MAX_LINKS"))
    for gpu in gpus:
        try:
            handle = nvml.nvmlDeviceGetHandleByUUID(gpu.uuid)
        except NVMLError:
            continue
        for link in range(max_links):
            try:
                if not nvml.nvmlDeviceGetNvLinkState(handle, link):
                    continue
                remote = text(nvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link).busId)
            except NVMLError:
                break  # NotSupported / InvalidArgument: no (more) links on this GPU
            except AttributeError:
                return counts
            peer = by_bus.get(_bus_key(remote))
            if peer and peer != gpu.uuid and gpu.uuid < peer:
                key = frozenset((gpu.uuid, peer))
                counts[key] = counts.get(key, 0) + 1
    return counts


def pcie_levels(nvml: Any, gpus: Sequence[DiscoveredGpu]) -> dict[frozenset[str], int]:
    levels: dict[frozenset[str], int] = {}
    getter = getattr(nvml, "nvmlDeviceGetTopologyCommonAncestor", None)
    if getter is None:
        return levels
    try:
        handles = {g.uuid: nvml.nvmlDeviceGetHandleByUUID(g.uuid) for g in gpus}
    except NVMLError:
        return levels
    for i, a in enumerate(gpus):
        for b in gpus[i + 1 :]:
            try:
                levels[frozenset((a.uuid, b.uuid))] = int(getter(handles[a.uuid], handles[b.uuid]))
            except NVMLError:
                return levels  # NotSupported for one pair means not supported on this node
    return levels


def pair_scores(nvml: Any, gpus: Sequence[DiscoveredGpu]) -> dict[frozenset[str], int]:
    """Score for each pair of GPU UUIDs (missing pairs score 0)."""
    links = nvlink_counts(nvml, gpus)
    levels = pcie_levels(nvml, gpus)
    scores: dict[frozenset[str], int] = {}
    for i, a in enumerate(gpus):
        for b in gpus[i + 1 :]:
            key = frozenset((a.uuid, b.uuid))
            score = links.get(key, 0) * NVLINK_SCORE
            if key in levels:
                score += _PCIE_SCORES.get(levels[key], 0)
            elif a.numa_node is not None and b.numa_node is not None:
                score += SAME_NUMA_SCORE if a.numa_node == b.numa_node else OTHER_NUMA_SCORE
            scores[key] = score
    return scores
