"""The reference model: what is true of the node, the plugin and the kubelet after each action.

The model never looks at the plugin. It follows the actions (a GPU lost, a kubelet restart,
a pod admitted) and the node's own record of which injected call failures fired, and says per
GPU what the kubelet must show once the system has settled: ``Healthy``, ``Unhealthy``, or
nothing (``None``) where the rules leave the outcome open. Open is honest: a failing NVML call
may land in discovery, registration or a probe, and the model does not guess which.

A *generation* is what one plugin build serves: it begins when the plugin starts, on SIGHUP,
and when a kubelet start creates ``kubelet.sock`` anew while the plugin runs. Health marks
belong to a generation (a rebuild starts every device Healthy, as NVIDIA's plugin does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.explore.plugins import HealthRules

GPU_RESOURCE = "nvidia.com/gpu"
HEALTHY, UNHEALTHY = "Healthy", "Unhealthy"


@dataclass
class GpuTruth:
    """One GPU: what NVML says of it now, and what happened to it in this generation."""

    index: int
    uuid: str
    resources: dict[str, int]  # resource → devices of this GPU in it (replicas, MIG devices)
    lost: bool = False
    hidden: bool = False
    events_unsupported: bool = False
    # this generation
    built: bool = True  # discovered answering and visible when the generation was built
    watched: bool = True  # registered for events when the generation was built
    xid: bool = False  # a critical XID reached a watched GPU
    served_lost: bool = False  # lost at the rebuild, served Unhealthy from the last inventory
    xid_open: bool = False  # a critical XID while its events may or may not be registered again

    @property
    def alias(self) -> str:
        return f"gpu{self.index}"


@dataclass
class Injected:
    """An NVML call failure: ``count`` calls of ``function`` fail, from log position ``seq`` on."""

    function: str
    count: int
    seq: int


@dataclass
class Generation:
    number: int = 0
    seq: int = 0  # log position of the action that began it
    clean: bool = True  # nothing lost and no call failure pending when it was built
    wait_failed: bool = False  # an event wait failed (every device marked, NVIDIA's rule)
    tainted: bool = False  # a call failure fired during it (where it landed is open)
    # a fresh plugin process began it while a GPU was lost: NVIDIA's plugin fails its start then
    # (fail-on-init-error), so an exit is accepted; a rebuild of a running plugin must not exit
    may_exit: bool = False


@dataclass
class ContainerTruth:
    name: str
    kind: str  # "app", "init" or "sidecar"
    gpus: int
    started: bool = False
    ids: list[str] = field(default_factory=list)  # what admission gave it
    # Runs now: app containers and sidecars from admission on, a plain init container never after
    # it (it has completed); a failed start stops it, a good one runs it again.
    running: bool = False

    def __post_init__(self) -> None:
        self.running = self.kind != "init"

    @property
    def runs_with_apps(self) -> bool:
        """App containers and sidecars run together; a plain init container has finished by then."""
        return self.kind in ("app", "sidecar")


@dataclass
class PodTruth:
    name: str
    resource: str
    containers: list[ContainerTruth]

    def container(self, name: str) -> ContainerTruth:
        return next(c for c in self.containers if c.name == name)


@dataclass
class Expectation:
    """What the kubelet must show for one GPU, and how long the system may take to get there."""

    health: str | None  # None: the rules leave it open
    bound: float
    why: str


class World:
    """The model of one run; the explorer calls one method per action, in order."""

    def __init__(self, gpus: list[GpuTruth], rules: HealthRules, health_bound: float) -> None:
        self.gpus = gpus
        self.rules = rules
        self.health_bound = health_bound
        self.plugin_up = False  # started by the actions (what preconditions read: never observed)
        self.exited = False  # it exited where the rules allow it (observed; see Generation.may_exit)
        self.kubelet_up = True
        self.gen = Generation()
        self.errors: list[Injected] = []
        self.latency: dict[str, float] = {}
        self.pods: dict[str, PodTruth] = {}
        self.plugin_down_for = 0.0  # virtual seconds the plugin has been down (the grace period)

    # -- queries -------------------------------------------------------------------------
    def gpu(self, index: int) -> GpuTruth:
        return self.gpus[index]

    def answering(self) -> list[GpuTruth]:
        """GPUs that are neither lost nor hidden (where XIDs and ECC errors can happen)."""
        return [g for g in self.gpus if not g.lost and not g.hidden]

    def resources(self) -> dict[str, int]:
        """Devices per resource that a clean build of this generation serves."""
        out: dict[str, int] = {}
        for g in self.gpus:
            if g.built:
                for name, n in g.resources.items():
                    out[name] = out.get(name, 0) + n
        return out

    def pending(self, fired: dict[str, int]) -> list[Injected]:
        """Injected failures not yet used up; ``fired`` counts the node's call_failed events per function."""
        left = dict(fired)
        out = []
        for e in self.errors:
            used = min(left.get(e.function, 0), e.count)
            left[e.function] = left.get(e.function, 0) - used
            if used < e.count:
                out.append(e)
        return out

    @property
    def plugin_running(self) -> bool:
        return self.plugin_up and not self.exited

    def serving(self) -> bool:
        """The plugin runs and the kubelet listens: the kubelet's view follows the plugin."""
        return self.plugin_running and self.kubelet_up

    # -- actions: the plugin -------------------------------------------------------------
    def _rebuild(self, seq: int, fired: dict[str, int], fresh: bool = False) -> None:
        pending = self.pending(fired)
        lost = [g for g in self.gpus if g.lost and not g.hidden]
        # A fresh process that meets a lost GPU or an NVML failure may exit (fail-on-init-error).
        # A running plugin's rebuild: ours serves a lost GPU from the last inventory, Unhealthy,
        # beside the others, and retries other failures (docs/plugin.md); NVIDIA's exits 1.
        keeps = not fresh and self.rules.keeps_serving
        self.gen = Generation(
            self.gen.number + 1,
            seq,
            clean=not pending and (keeps or not lost),
            may_exit=bool(lost or pending) and not keeps,
        )
        for g in self.gpus:
            g.served_lost = keeps and g.lost and not g.hidden and g.built
            g.built = not g.hidden and (not g.lost or g.served_lost)
            g.watched = g.built and not g.lost and not g.events_unsupported
            g.xid = g.xid_open = False
        if lost and not keeps and self._watching():
            self.gen.wait_failed = True
        if pending:
            self.gen.tainted = True

    def _watching(self) -> bool:
        return not self.rules.checks_off and any(g.watched for g in self.gpus)

    def plugin_start(self, seq: int, fired: dict[str, int]) -> None:
        self.plugin_up, self.exited = True, False
        self.plugin_down_for = 0.0
        self._rebuild(seq, fired, fresh=True)

    def plugin_stop(self) -> None:
        self.plugin_up = False

    def plugin_exited(self) -> None:
        """An exit the rules allow (see ``Generation.may_exit``): the plugin is down from now on."""
        self.exited = True

    def plugin_sighup(self, seq: int, fired: dict[str, int]) -> None:
        if self.plugin_running:
            self._rebuild(seq, fired)

    def kubelet_stop(self) -> None:
        self.kubelet_up = False

    def kubelet_start(self, seq: int, fired: dict[str, int]) -> None:
        """kubelet.sock is created anew: a running plugin rebuilds and registers again."""
        self.kubelet_up = True
        self.readmit()
        if self.plugin_running:
            self._rebuild(seq, fired)

    def readmit(self) -> None:
        """A starting kubelet admits its active pods again before any plugin registers, as the
        kubelet does: a container that runs keeps its devices; one that does not (a completed init
        container, a failed start) needs the resource registered, so its pod is rejected
        (UnexpectedAdmissionError) and what it held is freed."""
        for pod in list(self.pods.values()):
            if any(c.ids and not c.running for c in pod.containers):
                del self.pods[pod.name]

    def advance(self, seconds: float) -> None:
        if not self.plugin_running:
            self.plugin_down_for += seconds

    # -- actions: the node ---------------------------------------------------------------
    def lose(self, index: int) -> None:
        g = self.gpus[index]
        g.lost = True
        if self.rules.recovery:
            g.xid = False  # an outage is what lets an XID-marked GPU recover
        # The waits fail only for a GPU in the event set: one registered when this generation was
        # built. Where a call failure fired in this generation, its registration may have been the
        # one that failed (expect() leaves the other GPUs open then).
        if self.plugin_running and g.watched and not self.gen.tainted and self._watching():
            self.gen.wait_failed = True

    def recover(self, index: int) -> None:
        self.gpus[index].lost = False

    def hide(self, index: int) -> None:
        self.gpus[index].hidden = True

    def unhide(self, index: int) -> None:
        self.gpus[index].hidden = False

    def unsupported_events(self, index: int) -> None:
        self.gpus[index].events_unsupported = True

    def xid(self, index: int, xid: int) -> None:
        g = self.gpus[index]
        if not self.plugin_running or not self.rules.critical(xid):
            return
        if g.watched:
            g.xid = True
        elif g.served_lost and self.rules.recovery:
            g.xid_open = True  # recovery registers its events again after the probes: seen or not

    def nvml_error(self, function: str, count: int, seq: int) -> None:
        self.errors.append(Injected(function, count, seq))
        if self.plugin_running:
            self.gen.tainted = True  # it may fire in this generation, wherever it lands

    def add_latency(self, function: str, seconds: float) -> None:
        self.latency[function] = seconds

    # -- expectations ----------------------------------------------------------------------
    def expect(self, g: GpuTruth, fired: dict[str, int]) -> Expectation:
        """What the kubelet must show for ``g`` while the plugin serves it (see the module doc)."""
        rules, bound = self.rules, self.health_bound + self._slowdown()
        if rules.checks_off:
            if g.served_lost:
                return Expectation(None, bound, "lost at the rebuild while health checks are off")
            return Expectation(HEALTHY, bound, "health checks are off")
        if not g.built or g.hidden:
            return Expectation(None, bound, "not part of this generation's build")
        if g.xid_open:
            return Expectation(None, bound, "a critical XID while its events were being registered again")
        if g.served_lost and (g.lost or not rules.recovery):
            return Expectation(UNHEALTHY, bound, "lost at the rebuild, served from the last inventory")
        if g.lost and rules.nvml_errors and self._watching():
            return Expectation(UNHEALTHY, bound, "NVML says the GPU is lost")
        if g.xid:
            return Expectation(UNHEALTHY, bound, "a critical XID on a watched GPU")
        if g.lost:
            return Expectation(None, bound, "lost, but nothing watches for it")
        pending = bool(self.pending(fired))
        if rules.recovery:
            if pending:
                return Expectation(None, bound, "an injected NVML failure has not fired yet")
            return Expectation(HEALTHY, bound + rules.recovery_bound, "NVML answers again (recovery)")
        if self.gen.wait_failed and rules.nvml_errors:
            return Expectation(UNHEALTHY, bound, "an event wait failed in this generation")
        if self.gen.tainted or pending:
            return Expectation(None, bound, "an NVML call failure may have marked it")
        return Expectation(HEALTHY, bound, "no fault in this generation")

    def _slowdown(self) -> float:
        """Injected latency makes every reaction slower: allow a few calls per GPU of it."""
        return sum(self.latency.values()) * 3 * len(self.gpus)

    # -- actions: pods ---------------------------------------------------------------------
    def admitted(self, pod: PodTruth) -> None:
        self.pods[pod.name] = pod

    def deleted(self, name: str) -> None:
        self.pods.pop(name, None)

    def running_containers(self) -> list[tuple[PodTruth, ContainerTruth]]:
        return [(p, c) for p in self.pods.values() for c in p.containers if c.runs_with_apps and c.ids]
