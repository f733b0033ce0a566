"""What a step or a condition sees of its running scenario: the seam third-party steps type against.

:class:`Ctx` is a ``Protocol``, not the runner's class: steps and conditions (ours and those
registered through entry points) depend on this page only, and the runner's live state
(:class:`harness.runner.live.LiveCtx`) satisfies it. Nothing here imports the scenario model,
so the model can name ``Ctx`` in its signatures without an import circle.

It also holds the exceptions a step raises on purpose: :class:`StepFailed` (an expectation
did not hold: the case fails), :class:`StepError` (the scenario asked for something that
cannot be done: the case is an error, told in the author's words with the fix) and
:class:`Skip` (the scenario cannot run here).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from fake_kubelet import Admission, ContainerStart, FakeKubelet, Pod, ResourceState
    from harness.devices import DeviceTable
    from harness.launchers.base import Launcher
    from harness.scheduling import KubeNode
    from harness.templating import Expr
    from plugin.nvmlapi import Nvml
    from simkit import Clock, ObservationLog


# How far the clock may jump while one blocking action (a plugin start held up by a slow NVML, an
# admission whose Allocate hangs) waits on a deadline: the kubelet's longest call deadline is 30 s
# (PreStartContainer), and an admission may make two 10 s calls. See ``Ctx.paced``.
BLOCKING_HORIZON_S = 60.0


class StepFailed(AssertionError):
    """A step did not do what the scenario said; ``observed`` is what was seen instead."""

    def __init__(
        self,
        message: str,
        *,
        expectation: str = "",
        observed: str = "",
        health: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expectation = expectation
        self.observed = observed
        self.health = health or {}  # device ID → the health the failed expectation wanted


class StepError(Exception):
    """The scenario asked for something its parts cannot do now (``kubelet: start`` on a running
    kubelet). ``message`` says what, in the scenario's words; ``fix`` what to write instead."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class Skip(Exception):
    """The scenario cannot run here (a requirement the machine lacks); the message says why."""


@dataclass
class Paths:
    """Where a scenario's sockets live: short, under /tmp (unix socket paths < 107 bytes)."""

    tmp: str
    socket_dir: str
    kubelet_socket: str
    nvml_socket: str


class MigRecord(Protocol):
    """One MIG device of a node's GPU, as aliases (``gpu0/mig1``) resolve it."""

    @property
    def index(self) -> int: ...
    @property
    def uuid(self) -> str: ...
    @property
    def gi(self) -> int: ...
    @property
    def ci(self) -> int: ...
    @property
    def profile(self) -> str: ...


class GpuRecord(Protocol):
    """One GPU of a node, as aliases (``gpu2.uuid``) resolve it (``fake_nvml.NodeGpu`` is one)."""

    @property
    def index(self) -> int: ...
    @property
    def uuid(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def minor(self) -> int: ...
    @property
    def pci_bus_id(self) -> str: ...
    @property
    def numa_node(self) -> int | None: ...
    @property
    def mig_devices(self) -> Sequence[MigRecord]: ...


class Node(Protocol):
    """The node the harness reads GPUs from and injects faults into.

    ``fake_nvml.FakeNVML`` implements all of it; ``fake_nvml.OverlayNVML`` (real GPUs) carries
    XID and ECC events and refuses what real hardware cannot show.
    """

    @property
    def gpus(self) -> Sequence[GpuRecord]: ...
    def inject_xid(self, gpu: int | str, xid: int, gi: int | None = None, ci: int | None = None) -> int: ...
    def inject_ecc(self, gpu: int | str, double_bit: bool = False) -> int: ...
    def lose_gpu(self, gpu: int | str) -> None: ...
    def recover_gpu(self, gpu: int | str) -> None: ...
    def hide_gpu(self, gpu: int | str) -> None: ...
    def unhide_gpu(self, gpu: int | str) -> None: ...
    def unsupported_events(self, gpu: int | str, unsupported: bool = True) -> None: ...
    def fail_init(self, mode: str | int | None) -> None: ...
    def fail_calls(self, function: str, error: int | str = ..., count: int | None = 1) -> None: ...
    def add_latency(self, function: str, seconds: float) -> None: ...


class PluginInfo(Protocol):
    """What a step reads of the scenario's ``plugin:`` section."""

    @property
    def config(self) -> object:
        """The plugin's config file content (None when the scenario gives none)."""
        ...


class CaseInfo(Protocol):
    """What a step reads of the scenario it belongs to (``harness.model.scenario.Scenario`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def within(self) -> float: ...
    @property
    def plugin(self) -> PluginInfo: ...


class ProfileView(Protocol):
    """What a step reads of the plugin profile (``harness.profiles.Profile`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def device_ids(self) -> str: ...
    def missing(self, needs: list[str]) -> list[str]: ...
    def bound(self, name: str) -> float: ...
    def value(self, key: str) -> str | None: ...


class Ctx(Protocol):
    """The live state of one scenario case as steps and conditions use it.

    Components: the scenario ``clock`` and observation ``log``, the ``node``, the ``kubelet``
    and the plugin ``launcher``. Bookkeeping of steps: the pods they made, what admission
    returned, container starts. Helpers resolve templates and device aliases and raise
    :class:`StepFailed` with the node's own words when an alias names nothing.
    """

    @property
    def scenario(self) -> CaseInfo: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def log(self) -> ObservationLog: ...
    @property
    def paths(self) -> Paths: ...
    @property
    def real(self) -> bool:
        """True when the node is this machine's GPUs (``--nvml real``)."""
        ...

    # The components, set while the runner builds the case (setters for that builder).
    @property
    def node(self) -> Node: ...
    @node.setter
    def node(self, value: Node) -> None: ...
    @property
    def nvml(self) -> Nvml | None:
        """What the plugin under test is given as its NVML (the node, pynvml, or an overlay)."""
        ...

    @nvml.setter
    def nvml(self, value: Nvml | None) -> None: ...
    @property
    def gpu_source(self) -> Node | None:
        """What aliases resolve against when it is not the node itself (a recorded real node)."""
        ...

    @gpu_source.setter
    def gpu_source(self, value: Node | None) -> None: ...
    @property
    def kubelet(self) -> FakeKubelet: ...
    @property
    def kube_node(self) -> KubeNode:
        """The node as Kubernetes sees it: its labels and taints (pods from manifests are placed)."""
        ...

    @property
    def launcher(self) -> Launcher: ...
    @property
    def devices(self) -> DeviceTable: ...
    @property
    def profile(self) -> ProfileView:
        """What the plugin under test claims (its resource, features, bounds)."""
        ...

    # What steps did so far.
    @property
    def pods(self) -> dict[str, Pod]: ...
    @property
    def admissions(self) -> dict[str, Admission]: ...
    @property
    def starts(self) -> list[ContainerStart]: ...
    @property
    def step_seq(self) -> int:
        """The log position when the last action step began (``since: step``)."""
        ...

    def never_failed(self) -> bool:
        """True once a ``never:`` condition has held (waits stop early)."""
        ...

    def resolve(self, expr: Expr) -> str | list[str]: ...
    def t(self, text: str) -> str:
        """Render a templated string (``{gpu2.uuid}``, ``{healthy}``)."""
        ...

    def device_id(self, ref: str) -> str:
        """A device reference (alias, template or literal ID) → the device ID the plugin uses."""
        ...

    def mig_ids(self, ref: str) -> set[str]:
        """The MIG device IDs a plain GPU alias stands for (empty when it is not one)."""
        ...

    def gpu_index(self, ref: str | int) -> int: ...
    def resource_state(self, name: str | None = None) -> ResourceState | None:
        """The kubelet's view of a resource (None when it has never been registered)."""
        ...

    def note(self, kind: str, **data: Any) -> None:
        """A ``"harness"`` event in the observation log."""
        ...

    def paced(
        self, horizon: float, *, inclusive: bool = False, why: str = ""
    ) -> AbstractContextManager[None]:
        """While the block runs, the clock jumps over quiet stretches up to ``horizon``.

        Only when every timer of the case is on the scenario clock (our plugin in-process on
        the simulated node); otherwise the block runs in real time. See ``simkit.pacer``.
        """
        ...
