"""The pods the kubelet knows: what the API server gave it, and what became of each.

A pod is added when its admission begins (``Pending``) and stays until it is deleted. Its
phase is ``Running`` once admitted (the runtime starts its containers right after admission),
``Failed`` when admission rejected it, and ``Succeeded``/``Failed`` when it completed.
Active pods (the kubelet's ``GetActivePods``) are those not in a terminal phase. The
containers of an admitted pod run, except regular init containers (they ran to
completion) and containers that stopped or failed to start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fake_kubelet.pods import Pod

PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
TERMINAL = (SUCCEEDED, FAILED)


@dataclass
class PodRecord:
    pod: Pod
    phase: str = PENDING
    reason: str | None = None
    message: str = ""
    starts: dict[str, int] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)

    @property
    def active(self) -> bool:
        return self.phase not in TERMINAL

    def mark_admitted(self) -> None:
        """Admitted: a pod admitted for the first time (or again after it ended) starts its containers."""
        if self.phase == RUNNING:
            return
        self.phase, self.reason, self.message = RUNNING, None, ""
        regular_init = {c.name for c in self.pod.init_containers if not c.restartable}
        self.running = {
            c.name for c in (*self.pod.init_containers, *self.pod.containers) if c.name not in regular_init
        }

    def mark_rejected(self, reason: str, message: str) -> None:
        self.phase, self.reason, self.message = FAILED, reason, message
        self.running = set()


class PodManager:
    """Pods by name, in the order they were first admitted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pods: dict[str, PodRecord] = {}

    def get(self, name: str) -> PodRecord | None:
        with self._lock:
            return self._pods.get(name)

    def add(self, pod: Pod) -> PodRecord:
        """The record of ``pod`` (a new one, or the existing one of the same pod)."""
        with self._lock:
            record = self._pods.get(pod.name)
            if record is not None and record.pod.uid != pod.uid:
                if record.active:
                    raise ValueError(f"another pod named {pod.name!r} is admitted; delete_pod() it first")
                record = None  # a finished pod of that name gives way to the new one
            if record is None:
                record = self._pods[pod.name] = PodRecord(pod)
            record.pod = pod
            return record

    def remove(self, name: str) -> PodRecord | None:
        with self._lock:
            return self._pods.pop(name, None)

    def records(self) -> list[PodRecord]:
        with self._lock:
            return list(self._pods.values())

    def active(self) -> list[PodRecord]:
        return [r for r in self.records() if r.active]

    def active_uids(self) -> set[str]:
        return {r.pod.uid for r in self.active()}
