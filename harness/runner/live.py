"""The live state of one running scenario case: the runner's implementation of ``harness.context.Ctx``.

One :class:`LiveCtx` per case: its clock and observation log, the node, the kubelet, the
plugin launcher, the pods it admitted and what came back. It is also the template resolver
(``{gpu2.uuid}``, ``{healthy}``) and turns an alias that names nothing into a StepFailed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness import templating
from harness.context import Node, Paths, Skip, StepFailed
from harness.devices import AliasError, DeviceTable, OpaqueIds
from harness.templating import (
    AllGpusRef,
    AllocatedRef,
    CountRef,
    DeviceRef,
    Expr,
    ListRef,
    MatrixRef,
    PlainRef,
    ProfileRef,
)

if TYPE_CHECKING:
    from fake_kubelet import Admission, ContainerStart, FakeKubelet, Pod, ResourceState
    from harness.context import GpuRecord
    from harness.launchers.base import Launcher
    from harness.model.calls import StepCall
    from harness.model.scenario import Scenario
    from harness.profiles import Profile
    from harness.runner.never import NeverWatch
    from harness.scheduling import KubeNode
    from plugin.nvmlapi import Nvml
    from simkit import Clock, ObservationLog, Pacer


def _kube_node() -> KubeNode:
    from harness.scheduling import KubeNode

    return KubeNode()


def _missing(part: str) -> RuntimeError:
    return RuntimeError(f"the scenario's {part} is not built yet (a step ran before setup finished)")


@dataclass
class LiveCtx:
    scenario: Scenario
    clock: Clock
    log: ObservationLog
    paths: Paths
    profile: Profile  # what the plugin under test claims
    real: bool = False
    pods: dict[str, Pod] = field(default_factory=dict)
    admissions: dict[str, Admission] = field(default_factory=dict)
    starts: list[ContainerStart] = field(default_factory=list)
    step: StepCall | None = None
    step_seq: int = 0  # log position when the last action step began ("since: step")
    never: NeverWatch | None = None
    gpu_source: Node | None = None  # what aliases resolve against, when not the node itself
    nvml: Nvml | None = None  # what the plugin is given (the node, pynvml, or an overlay)
    kube_node: KubeNode = field(default_factory=lambda: _kube_node())  # labels and taints
    lock: threading.Lock = field(default_factory=threading.Lock)
    pacer: Pacer | None = None  # set when every timer of the case is on the scenario clock
    _node: Node | None = None
    _devroot_copy: str = ""
    _kubelet: FakeKubelet | None = None
    _launcher: Launcher | None = None

    def __post_init__(self) -> None:
        self.devices = DeviceTable(self.gpus, self.profile.device_ids)

    # -- the components -----------------------------------------------------------------
    @property
    def node(self) -> Node:
        if self._node is None:
            raise _missing("node")
        return self._node

    @node.setter
    def node(self, value: Node) -> None:
        self._node = value

    @property
    def kubelet(self) -> FakeKubelet:
        if self._kubelet is None:
            raise _missing("kubelet")
        return self._kubelet

    @kubelet.setter
    def kubelet(self, value: FakeKubelet) -> None:
        self._kubelet = value

    @property
    def launcher(self) -> Launcher:
        if self._launcher is None:
            raise _missing("plugin launcher")
        return self._launcher

    @launcher.setter
    def launcher(self, value: Launcher) -> None:
        self._launcher = value

    @property
    def has_launcher(self) -> bool:
        return self._launcher is not None

    def gpus(self) -> list[GpuRecord]:
        """The GPUs aliases resolve against (none before the node is built)."""
        source = self.gpu_source or self._node
        return [] if source is None else list(source.gpus)

    def step_title(self) -> str:
        """The step running now, as failures name it ("setup" before the first)."""
        return self.step.title() if self.step is not None else "setup"

    def never_failed(self) -> bool:
        never = self.never
        return never is not None and (never.violation is not None or never.error is not None)

    # -- templates ----------------------------------------------------------------------
    def resolve(self, expr: Expr) -> str | list[str]:
        try:
            return self._resolve(expr)
        except OpaqueIds as exc:
            raise Skip(str(exc)) from None
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    def _resolve(self, expr: Expr) -> str | list[str]:
        if isinstance(expr, DeviceRef):
            if expr.attr == "numa" and expr.mig is None:
                return self.devices.numa(expr)  # a list: [] on a node without NUMA
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
            return self.plain_values()[expr.name]
        if isinstance(expr, CountRef):
            return str(expr.apply(self.devices.count()))
        if isinstance(expr, AllGpusRef):
            return self.devices.all_gpus(expr.attr)
        if isinstance(expr, ProfileRef):
            value = self.profile.value(expr.key)
            if value is None:
                raise Skip(f"the plugin profile '{self.profile.name}' gives no {expr.key}")
            return value
        if isinstance(expr, MatrixRef):  # pragma: no cover - replaced at load time
            return str(self.scenario.values.get(expr.name, ""))
        raise StepFailed(f"cannot resolve template {expr!r}")  # pragma: no cover

    def plain_values(self) -> dict[str, str]:
        """What ``{socket_dir}``, ``{nvml}``, ``{python}`` ... stand for in this case."""
        return {
            "socket_dir": self.paths.socket_dir,
            "kubelet_socket": self.paths.kubelet_socket,
            "nvml": "real" if self.real else f"connect:{self.paths.nvml_socket}",
            "resource": self.scenario.resource,
            "python": sys.executable,
            "scenario_dir": os.path.dirname(os.path.abspath(self.scenario.path))
            if self.scenario.path
            else "",
            "devroot": self._devroot(),
        }

    def _devroot(self) -> str:
        """The library's fake device and driver root: the nearest ``_devroot`` folder at or above the
        scenario's, as an absolute path without ``..`` (plugins may clean paths they pass on), copied
        for the case with character devices where the harness may make them (gpuworld.char_devroot)."""
        if self._devroot_copy:
            return self._devroot_copy
        folder = os.path.dirname(os.path.abspath(self.scenario.path)) if self.scenario.path else ""
        while folder and folder != os.path.dirname(folder):
            candidate = os.path.join(folder, "_devroot")
            if os.path.isdir(candidate):
                from harness.launchers.gpuworld import char_devroot

                self._devroot_copy = char_devroot(candidate, os.path.join(self.paths.tmp, "devroot"))
                return self._devroot_copy
            folder = os.path.dirname(folder)
        raise StepFailed("{devroot}: no _devroot folder at or above the scenario's folder")

    def t(self, text: str) -> str:
        return templating.render(str(text), self)

    def device_id(self, ref: str) -> str:
        try:
            return self.devices.device_id(self.t(ref))
        except OpaqueIds as exc:
            raise Skip(str(exc)) from None
        except AliasError as exc:
            raise StepFailed(str(exc)) from None

    def mig_ids(self, ref: str) -> set[str]:
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
    def resource_state(self, name: str | None = None) -> ResourceState | None:
        resource = name or self.scenario.resource
        if self._kubelet is None:
            return None
        try:
            return self._kubelet.resource(resource)
        except KeyError:
            return None

    def note(self, kind: str, **data: Any) -> None:
        self.log.append("harness", kind, **data)

    def paced(
        self, horizon: float, *, inclusive: bool = False, why: str = ""
    ) -> contextlib.AbstractContextManager[None]:
        if self.pacer is None:
            return contextlib.nullcontext()
        return self.pacer.running(horizon, inclusive=inclusive, why=why)
