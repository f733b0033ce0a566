"""NUMA affinity masks, as the TopologyManager's ``bitmask`` package has them.

A mask is a frozenset of NUMA node IDs. "Narrower" means fewer nodes, then (same count)
the lower bit pattern, which is how the kubelet breaks ties between equally wide masks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations

Mask = frozenset[int]

MAX_NUMA_NODES = 8  # the TopologyManager refuses machines with more (its bitmask limit)


def as_int(mask: Mask) -> int:
    return sum(1 << node for node in mask)


def is_narrower(a: Mask, b: Mask) -> bool:
    """``a.IsNarrowerThan(b)``: fewer nodes, or as many with a lower bit pattern."""
    if len(a) == len(b):
        return as_int(a) < as_int(b)
    return len(a) < len(b)


def narrowest(a: Mask, b: Mask) -> Mask:
    return a if is_narrower(a, b) else b


def iterate_masks(nodes: Iterable[int]) -> Iterator[Mask]:
    """Every non-empty combination of ``nodes``: by size, then in lexical order (IterateBitMasks)."""
    ordered = sorted(nodes)
    for size in range(1, len(ordered) + 1):
        for combo in combinations(ordered, size):
            yield frozenset(combo)


def show(mask: Mask | None) -> str:
    return "any" if mask is None else "{" + ",".join(str(n) for n in sorted(mask)) + "}"


@dataclass(frozen=True)
class TopologyHint:
    """A NUMA affinity (None: no preference) and whether it is a preferred one."""

    affinity: Mask | None
    preferred: bool

    def to_dict(self) -> dict[str, object]:
        return {"numa": None if self.affinity is None else sorted(self.affinity), "preferred": self.preferred}

    def __str__(self) -> str:
        return f"{show(self.affinity)}{' preferred' if self.preferred else ''}"


def generate_hints(
    numa_nodes: Iterable[int],
    *,
    everything: Counter[Mask],
    available: Counter[Mask],
    reusable: Counter[Mask] | None = None,
    request: int,
) -> list[TopologyHint]:
    """Hints for ``request`` units over NUMA nodes, the device and CPU managers' way.

    Each counter maps a unit's NUMA nodes to how many such units there are: ``everything``
    (healthy or not, taken or not), ``available`` (free to take) and ``reusable`` (the
    container may reuse them; a mask must touch every one with a topology). A mask is a hint
    when the units it touches cover the request; it is preferred when it is as narrow as the
    narrowest mask that ``everything`` could cover. Units without NUMA nodes never count.
    """
    nodes = sorted(numa_nodes)
    reusable = reusable or Counter()
    min_size = len(nodes)
    hints: list[TopologyHint] = []
    for mask in iterate_masks(nodes):
        if sum(n for where, n in everything.items() if where & mask) >= request and len(mask) < min_size:
            min_size = len(mask)
        if any(where and not where & mask for where in reusable):
            continue
        matching = sum(n for where, n in reusable.items() if where) + sum(
            n for where, n in available.items() if where & mask
        )
        if matching >= request:
            hints.append(TopologyHint(mask, False))
    return [TopologyHint(h.affinity, len(h.affinity or ()) == min_size) for h in hints]
