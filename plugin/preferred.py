"""GetPreferredAllocation: which of the available devices the kubelet should pick.

Whole GPUs: best effort over pairwise affinity (NVLink, PCIe, NUMA; :mod:`plugin.topology`), the
set with the highest total score that contains every must-include device. Replicas and MIG
devices: NVIDIA's greedy allocator, one device at a time from the physical GPU chosen by the
policy: ``distributed`` (fewest replicas already taken) or ``packed`` (most taken).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from plugin.errors import AllocationError
from plugin.resources import Device, Resource

NOT_ENOUGH = "not enough available devices to satisfy allocation"
_MAX_COMBINATIONS = 20000


def _known(resource: Resource, ids: Sequence[str]) -> list[Device]:
    by_id = resource.by_id()
    out, seen = [], set()
    for device_id in ids:
        if device_id in by_id and device_id not in seen:
            seen.add(device_id)
            out.append(by_id[device_id])
    return out


def preferred(
    resource: Resource,
    available: Sequence[str],
    must_include: Sequence[str],
    size: int,
    policy: str = "distributed",
    scores: Mapping[frozenset[str], int] | None = None,
) -> list[str]:
    """Exactly ``size`` device IDs: the must-include ones first, then the chosen ones."""
    by_id = resource.by_id()
    for device_id in must_include:
        if device_id not in by_id:
            raise AllocationError(f"invalid request: unknown device: {device_id}")
    required = _known(resource, must_include)
    chosen_ids = {d.id for d in required}
    candidates = [d for d in _known(resource, available) if d.id not in chosen_ids]
    needed = size - len(required)
    # NVIDIA's tegra resource manager has no aligned allocator: always the greedy one, distributed.
    whole_gpus = not resource.shared and not resource.tegra and not any(d.is_mig for d in resource.devices)
    if resource.tegra:
        policy = "distributed"
    if whole_gpus and (size <= 0 or needed < 0 or len(candidates) < needed):
        # NVIDIA's whole-GPU path (go-gpuallocator's best-effort policy) answers with no
        # devices rather than an error; the kubelet then picks on its own.
        return []
    if size < len(required):
        raise AllocationError(
            f"allocation size {size} is smaller than the {len(required)} must-include devices"
        )
    if len(candidates) < needed:
        raise AllocationError(NOT_ENOUGH)
    if needed == 0:
        return [d.id for d in required]
    if whole_gpus:
        picked = _best_effort(required, candidates, needed, scores or {})
    else:
        picked = _greedy(resource, candidates, needed, policy)
    return [d.id for d in required] + [d.id for d in picked]


def _set_score(devices: Sequence[Device], scores: Mapping[frozenset[str], int]) -> int:
    return sum(
        scores.get(frozenset((a.gpu_uuid, b.gpu_uuid)), 0) for a, b in itertools.combinations(devices, 2)
    )


def _best_effort(
    required: list[Device], candidates: list[Device], needed: int, scores: Mapping[frozenset[str], int]
) -> list[Device]:
    candidates = sorted(candidates, key=lambda d: d.gpu_index)
    if math.comb(len(candidates), needed) <= _MAX_COMBINATIONS:
        best: tuple[Device, ...] = ()
        best_score = -1
        for combo in itertools.combinations(candidates, needed):
            score = _set_score([*required, *combo], scores)
            if score > best_score:
                best, best_score = combo, score
        return list(best)
    chosen = list(required)
    picked: list[Device] = []
    pool = list(candidates)
    for _ in range(needed):
        gain = [sum(scores.get(frozenset((c.gpu_uuid, x.gpu_uuid)), 0) for x in chosen) for c in pool]
        at = max(range(len(pool)), key=lambda i: (gain[i], -i))
        picked.append(pool[at])
        chosen.append(pool.pop(at))
    return picked


def _greedy(resource: Resource, candidates: list[Device], needed: int, policy: str) -> list[Device]:
    """NVIDIA's replica allocator: per step, the GPU with the fewest (or most) replicas taken."""
    total: dict[str, int] = {}
    for device in resource.devices:
        total[_group(device)] = total.get(_group(device), 0) + 1
    free: dict[str, int] = {}
    for device in candidates:
        free[_group(device)] = free.get(_group(device), 0) + 1
    order = {device.id: i for i, device in enumerate(resource.devices)}
    pool = list(candidates)
    picked: list[Device] = []
    for _ in range(needed):

        def taken(device: Device) -> int:
            return total[_group(device)] - free[_group(device)]

        if policy == "packed":
            at = min(range(len(pool)), key=lambda i: (-taken(pool[i]), order[pool[i].id]))
        else:
            at = min(range(len(pool)), key=lambda i: (taken(pool[i]), order[pool[i].id]))
        device = pool.pop(at)
        free[_group(device)] -= 1
        picked.append(device)
    return picked


def _group(device: Device) -> str:
    """The physical device a replica belongs to (a GPU, or one MIG device)."""
    return device.uuid
