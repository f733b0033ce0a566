"""The CPU side of topology alignment: exclusive CPUs counted per NUMA node, nothing more.

The node profile declares how many CPUs each NUMA node has (none declared: no CPU
manager, ``cpu`` limits are not aligned or counted). A container with an integer
``cpu`` limit gets that many exclusive CPUs (the static CPU manager policy), taken from
the NUMA nodes of its topology hint first; its hints are generated like the device
manager's, from free counts. Not modelled: CPU IDs, SMT siblings, reserved CPUs, the
shared pool, policy options; ``cpu_ids`` in the podresources API stay empty.
"""

from __future__ import annotations

import threading
from collections import Counter

from fake_kubelet.errors import AdmissionError
from fake_kubelet.numa import TopologyHint, generate_hints
from fake_kubelet.pods import Container, Pod

CPU = "cpu"

Hints = dict[str, list[TopologyHint] | None]


class CpuManager:
    """Exclusive CPU counts per (pod, container), per NUMA node."""

    def __init__(self, cpus_per_numa: dict[int, int]) -> None:
        self.cpus_per_numa = dict(cpus_per_numa)
        self._lock = threading.Lock()
        self._assigned: dict[tuple[str, str], Counter[int]] = {}
        self._reusable: dict[str, Counter[int]] = {}  # pod UID -> CPUs of its regular init containers
        self._borrowed: dict[str, Counter[int]] = {}  # pod UID -> reused CPUs (assigned twice)

    def free(self) -> Counter[int]:
        with self._lock:
            return self._free()

    def _free(self) -> Counter[int]:
        used: Counter[int] = Counter()
        for counts in self._assigned.values():
            used.update(counts)
        for counts in self._borrowed.values():
            used.subtract(counts)
        return Counter({n: total - used[n] for n, total in self.cpus_per_numa.items()})

    @property
    def enabled(self) -> bool:
        return bool(self.cpus_per_numa)

    def container_hints(self, pod: Pod, container: Container) -> Hints:
        request = container.limits.get(CPU, 0)
        if request <= 0 or not self.enabled:
            return {}
        with self._lock:
            held = self._assigned.get((pod.uid, container.name))
            if held:
                return {CPU: self._hints(held, Counter(), request)}
            free = self._free()
            reusable = self._reusable.get(pod.uid, Counter())
            if sum(free.values()) + sum(reusable.values()) < request:
                return {CPU: []}
            return {CPU: self._hints(free, reusable, request)}

    def pod_hints(self, pod: Pod) -> Hints:
        request = pod.request(CPU)
        if request <= 0 or not self.enabled:
            return {}
        with self._lock:
            free = self._free()
            if sum(free.values()) < request:
                return {CPU: []}
            return {CPU: self._hints(free, Counter(), request)}

    def _hints(self, available: Counter[int], reusable: Counter[int], request: int) -> list[TopologyHint]:
        return generate_hints(
            self.cpus_per_numa,
            everything=Counter({frozenset({n}): c for n, c in self.cpus_per_numa.items()}),
            available=Counter({frozenset({n}): c for n, c in available.items() if c}),
            reusable=Counter({frozenset({n}): c for n, c in reusable.items() if c}),
            request=request,
        )

    def allocate(self, pod: Pod, container: Container, hint: TopologyHint | None) -> None:
        """Take the container's CPUs: reusable ones first, then free ones; the hint's nodes first."""
        request = container.limits.get(CPU, 0)
        key = (pod.uid, container.name)
        with self._lock:
            if request <= 0 or key in self._assigned or not self.enabled:
                return
            free = self._free()
            reusable = self._reusable.setdefault(pod.uid, Counter())
            have = sum(free.values()) + sum(reusable.values())
            if have < request:
                raise AdmissionError(
                    f"not enough cpus available to satisfy request: requested={request}, available={have}"
                )
            preferred = sorted(hint.affinity) if hint is not None and hint.affinity is not None else []
            order = preferred + sorted(n for n in self.cpus_per_numa if n not in preferred)
            taken: Counter[int] = Counter()
            reused: Counter[int] = Counter()
            needed = request
            for pool, counter in ((reusable, reused), (free, None)):
                for node in order:
                    share = min(needed, pool[node])
                    if share:
                        taken[node] += share
                        if counter is not None:
                            counter[node] += share
                        needed -= share
            self._assigned[key] = taken
            reusable.subtract(reused)
            self._borrowed.setdefault(pod.uid, Counter()).update(reused)
            if container in pod.init_containers and not container.restartable:
                reusable.update(taken)  # a regular init container's CPUs go to the containers after it

    def assigned(self, pod_uid: str, container: str) -> dict[int, int]:
        with self._lock:
            return dict(self._assigned.get((pod_uid, container), Counter()))

    def remove_pod(self, pod_uid: str) -> None:
        with self._lock:
            for key in [k for k in self._assigned if k[0] == pod_uid]:
                del self._assigned[key]
            self._reusable.pop(pod_uid, None)
            self._borrowed.pop(pod_uid, None)
