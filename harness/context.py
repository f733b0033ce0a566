"""The live state of one running scenario, as steps and conditions see it.

One :class:`Ctx` per scenario case: its clock and observation log, the node, the kubelet, the
plugin launcher, the pods it admitted and what came back. It is also the template resolver
(``{gpu2.uuid}``, ``{healthy}``) and the place where step failures are raised from.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness import templating
from harness.devices import AliasError, DeviceTable
from harness.templating import AllocatedRef, DeviceRef, Expr, ListRef, MatrixRef, PlainRef

if TYPE_CHECKING:
    from harness.launchers.base import Launcher
    from harness.model.base import StepCall
    from harness.model.scenario import Scenario
    from simkit import Clock, ObservationLog


class StepFailed(AssertionError):
    """A step did not do what the scenario said; ``observed`` is what was seen instead."""

    def __init__(self, message: str, *, expectation: str = "", observed: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.expectation = expectation
        self.observed = observed


class Skip(Exception):
    """The scenario cannot run here (a requirement the machine lacks); the message says why."""


@dataclass
class Paths:
    """Where a scenario's sockets live: short, under /tmp (unix socket paths < 107 bytes)."""

    tmp: str
    socket_dir: str
    kubelet_socket: str
    nvml_socket: str


@dataclass
class Ctx:
    scenario: Scenario
    clock: Clock
    log: ObservationLog
    paths: Paths
    node: Any = None  # FakeNVML, or an overlay on the machine's NVML
    nvml: Any = None  # what the plugin is given (the node, pynvml, or an overlay)
    kubelet: Any = None
    launcher: Launcher | None = None
    pods: dict[str, Any] = field(default_factory=dict)
    admissions: dict[str, Any] = field(default_factory=dict)
    starts: list[Any] = field(default_factory=list)
    step: StepCall | None = None
    step_seq: int = 0  # log position when the last action step began ("since: step")
    real: bool = False
    never: Any = None  # the NeverWatch
    gpu_source: Any = None  # what aliases resolve against, when not the node itself
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.devices = DeviceTable(self._gpus)

    def _gpus(self) -> list[Any]:
        source = self.gpu_source or self.node
        if source is None:
            return []
        return list(source.gpus)

    def never_failed(self) -> bool:
        return self.never is not None and self.never.violation is not None

    # -- templates ----------------------------------------------------------------------
    def resolve(self, expr: Expr) -> str | list[str]:
        try:
            return self._resolve(expr)
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    def _resolve(self, expr: Expr) -> str | list[str]:
        if isinstance(expr, DeviceRef):
            return self.devices.value(expr)
        if isinstance(expr, ListRef):
            state = self.resource_state(expr.resource)
            if state is None:
                return []
            if expr.which == "healthy":
                return [d.id for d in state.devices if d.health == "Healthy"]
            if expr.which == "unhealthy":
                return [d.id for d in state.devices if d.health != "Healthy"]
            return [d.id for d in state.devices]
        if isinstance(expr, AllocatedRef):
            admission = self.admissions.get(expr.pod)
            if admission is None:
                raise StepFailed(
                    f"{{allocated.{expr.pod}.{expr.container}}}: no pod '{expr.pod}' was admitted"
                )
            return list(admission.devices(expr.container, expr.resource or self.scenario.resource))
        if isinstance(expr, PlainRef):
            return {
                "socket_dir": self.paths.socket_dir,
                "kubelet_socket": self.paths.kubelet_socket,
                "nvml": "real" if self.real else f"connect:{self.paths.nvml_socket}",
                "resource": self.scenario.resource,
                "python": sys.executable,
                "scenario_dir": os.path.dirname(os.path.abspath(self.scenario.path)),
            }[expr.name]
        if isinstance(expr, MatrixRef):  # pragma: no cover - replaced at load time
            return str(self.scenario.values.get(expr.name, ""))
        raise StepFailed(f"cannot resolve template {expr!r}")  # pragma: no cover

    def t(self, text: str) -> str:
        """Render a templated string."""
        return templating.render(str(text), self)

    def device_id(self, ref: str) -> str:
        """A device reference (alias, template or literal ID) → the device ID the plugin uses."""
        try:
            return self.devices.device_id(self.t(ref))
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    def mig_ids(self, ref: str) -> set[str]:
        """The MIG device IDs a plain GPU alias stands for (empty when it is not one)."""
        try:
            return self.devices.mig_ids(self.t(ref))
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    def gpu_index(self, ref: str | int) -> int:
        try:
            return self.devices.gpu_index(self.t(str(ref)))
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    # -- kubelet state ------------------------------------------------------------------
    def resource_state(self, name: str | None = None) -> Any:
        """The kubelet's view of a resource (None when it has never been registered)."""
        resource = name or self.scenario.resource
        if self.kubelet is None:
            return None
        try:
            return self.kubelet.resource(resource)
        except KeyError:
            return None

    def note(self, kind: str, **data: Any) -> None:
        """A harness event (steps, expectations) in the observation log."""
        self.log.append("harness", kind, **data)
