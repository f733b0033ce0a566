"""The TopologyManager: merge the hint providers' NUMA hints into one affinity per container or pod.

Policies as the kubelet's (policy.go and policy_*.go): ``none`` (no hints, no alignment),
``best-effort`` (merge, always admit), ``restricted`` (admit only a preferred merge) and
``single-numa-node`` (only single-node or don't-care hints; admit only a preferred merge).
Scope ``container`` merges per container, ``pod`` once for the whole pod. A pod a policy
cannot admit fails with ``TopologyAffinityError``. Not modelled: the policy options
(prefer-closest-numa-nodes, max-allowable-numa-nodes), the memory manager.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

from fake_kubelet.numa import MAX_NUMA_NODES, Mask, TopologyHint, narrowest

POLICIES = ("none", "best-effort", "restricted", "single-numa-node")
SCOPES = ("container", "pod")

TOPOLOGY_AFFINITY_ERROR = "TopologyAffinityError"
TOPOLOGY_AFFINITY_MESSAGE = "Resources cannot be allocated with Topology locality"

# What a provider returns: resource -> hints; None means "no preference", [] means "cannot".
ProviderHints = Mapping[str, Sequence[TopologyHint] | None]


@dataclass(frozen=True)
class TopologyPolicy:
    """A TopologyManager configuration: policy, scope and the machine's NUMA nodes."""

    policy: str = "none"
    scope: str = "container"
    numa_nodes: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(
                f"unknown topology manager policy {self.policy!r}; choose one of {list(POLICIES)}"
            )
        if self.scope not in SCOPES:
            raise ValueError(f"unknown topology manager scope {self.scope!r}; choose one of {list(SCOPES)}")
        if not self.numa_nodes:
            raise ValueError("the machine needs at least one NUMA node")
        if len(self.numa_nodes) > MAX_NUMA_NODES and self.policy != "none":
            raise ValueError(
                f"the topology manager does not support {len(self.numa_nodes)} NUMA nodes "
                f"(at most {MAX_NUMA_NODES})"
            )

    @property
    def aligns(self) -> bool:
        return self.policy != "none"

    @property
    def default_affinity(self) -> Mask:
        return frozenset(self.numa_nodes)

    def merge(self, providers: Sequence[ProviderHints]) -> tuple[TopologyHint, bool]:
        """The best hint over every permutation of the providers' hints, and whether to admit."""
        hints = _filter_providers(providers)
        if self.policy == "single-numa-node":
            hints = [
                [h for h in resource if h.preferred and (h.affinity is None or len(h.affinity) == 1)]
                for resource in hints
            ]
        best = _Merger(self.default_affinity, hints).merge()
        if self.policy == "single-numa-node" and best.affinity == self.default_affinity:
            best = TopologyHint(None, best.preferred)
        admit = self.policy == "best-effort" or best.preferred
        return best, admit


def _filter_providers(providers: Sequence[ProviderHints]) -> list[list[TopologyHint]]:
    """filterProvidersHints: a provider without hints, or a resource with None, does not care."""
    out: list[list[TopologyHint]] = []
    for provider in providers:
        if not provider:
            out.append([TopologyHint(None, True)])
            continue
        for resource in sorted(provider):
            hints = provider[resource]
            if hints is None:
                out.append([TopologyHint(None, True)])
            elif not hints:
                out.append([TopologyHint(None, False)])
            else:
                out.append(list(hints))
    return out


class _Merger:
    """HintMerger: the narrowest preferred merge, else the non-preferred one closest to what is needed."""

    def __init__(self, default: Mask, hints: list[list[TopologyHint]]) -> None:
        self.default = default
        self.hints = hints
        counts = [min(len(h.affinity) for h in r if h.affinity is not None) for r in hints if _any_mask(r)]
        self.best_non_preferred = max(counts, default=0)

    def merge(self) -> TopologyHint:
        best: TopologyHint | None = None
        for permutation in product(*self.hints):
            best = self._compare(best, self._merge_permutation(permutation))
        return best if best is not None else TopologyHint(self.default, False)

    def _merge_permutation(self, permutation: Sequence[TopologyHint]) -> TopologyHint:
        masks = [h.affinity for h in permutation if h.affinity is not None]
        preferred = all(h.preferred for h in permutation) and all(m == masks[0] for m in masks)
        merged = self.default
        for mask in masks:
            merged = merged & mask
        return TopologyHint(merged, preferred)

    def _fitter(self, current: TopologyHint, candidate: TopologyHint) -> TopologyHint:
        assert current.affinity is not None and candidate.affinity is not None
        if candidate.affinity == current.affinity:
            return current
        return current if narrowest(current.affinity, candidate.affinity) == current.affinity else candidate

    def _compare(self, current: TopologyHint | None, candidate: TopologyHint) -> TopologyHint | None:
        size = len(candidate.affinity or ())
        if size == 0:
            return current
        if current is None:
            return candidate
        if current.preferred != candidate.preferred:
            return candidate if candidate.preferred else current
        if current.preferred:
            return self._fitter(current, candidate)
        # Both non-preferred: get as close as possible to (not above) best_non_preferred nodes.
        have, best = len(current.affinity or ()), self.best_non_preferred
        if have > best:
            return self._fitter(current, candidate)
        if have == best:
            return self._fitter(current, candidate) if size == best else current
        if size > best:
            return current
        if size == best:
            return candidate
        if size != have:
            return candidate if size > have else current
        return self._fitter(current, candidate)


def _any_mask(hints: list[TopologyHint]) -> bool:
    return any(h.affinity is not None for h in hints)
