"""The Hypothesis rule-based state machine: one run is one node, one plugin variant, N actions.

Hypothesis draws the node, the variant and each action (its rule choice is swarm-tested: every
run enables a random subset of rules, so runs differ in kind, not only in order), keeps pods in
a :class:`~hypothesis.stateful.Bundle`, checks the invariants after every action and, when one
breaks, shrinks the run to the fewest and simplest actions that still break it.

GPU arguments are drawn as small integers and taken modulo the GPUs an action may touch (the
answering ones for an XID, the lost ones for a recovery), so every draw is valid and shrinking
moves towards ``gpu0``. Preconditions and bundles read only what the actions did (the model's
intent), never what the system answered: Hypothesis needs a run's shape to follow from its
draws. Once the session's budget is spent, a new run ends before its first draw as an
*overrun* (Hypothesis's "this input ran out of room"): the generator moves on, the shrinker
keeps the smallest failing run it has, and neither checks an overrun for consistency with the
runs before it. Hypothesis's final replay of the shrunk run always runs live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from harness.explore.actions import BY_NAME, FAILING_CALLS, JUMPS, LATENCIES_MS, SLOW_CALLS, XIDS, Tick
from harness.explore.checking import Known, Tally, Violation, check_after
from harness.explore.fleet import FleetNode
from harness.explore.invariants import Invariant, Situation
from harness.explore.live import LiveRun
from harness.explore.plugins import Claims, Variant
from harness.explore.world import GpuTruth, World
from harness.options import RunOptions

MAX_PODS = 4
MAX_FAULT_CALLS = 3  # injected call failures and latencies per run: enough to combine, not to drown
# The actions that rebuild the plugin (its start, a SIGHUP, kubelet.sock created anew).
REBUILDS = ("plugin_start", "plugin_restart", "plugin_sighup", "kubelet_restart", "kubelet_start")
# What a rebuild may meet: nothing (where shrinking goes), or the next 1-2 calls of a function failing.
REBUILD_FAILURES = st.none() | st.tuples(st.sampled_from(FAILING_CALLS), st.integers(1, 2))


class Explorer(Protocol):
    """What a machine needs of its session (:class:`harness.explore.session.Session` is one)."""

    @property
    def fleet(self) -> Sequence[FleetNode]: ...
    @property
    def variants(self) -> Sequence[Variant]: ...
    @property
    def claims(self) -> Claims: ...
    @property
    def resource(self) -> str: ...
    @property
    def invariants(self) -> tuple[Invariant, ...]: ...
    @property
    def tally(self) -> Tally: ...
    @property
    def known(self) -> set[str]: ...

    @property
    def run_options(self) -> RunOptions: ...
    def spent(self) -> bool: ...
    def header(self, node: FleetNode, variant: Variant) -> dict[str, Any]: ...
    def plugin_actions(self) -> tuple[str, ...]: ...
    def run_started(self, run: LiveRun) -> None: ...
    def run_finished(self, run: LiveRun) -> None: ...
    def violation_seen(self, actions: int) -> None: ...


def world_for(header: dict[str, Any], variant: Variant, health_bound: float, resource: str) -> World:
    """The model of a run, from its scenario header alone (so an idle run has the same one)."""
    gpus = []
    for index, g in enumerate(header["node"]["spec"]["gpus"]):
        resources: dict[str, int] = {}
        for profile in g.get("mig") or []:
            name = "nvidia.com/mig-" + str(profile).replace("+", ".")
            resources[name] = resources.get(name, 0) + 1
        gpus.append(GpuTruth(index, str(g["uuid"]), resources or {resource: variant.replicas}))
    return World(gpus, variant.rules, health_bound)


def machine_for(session: Explorer) -> type[RuleBasedStateMachine]:
    """A machine class bound to this session's fleet, variants and invariants."""
    fleet_size = len(session.fleet)
    variant_count = len(session.variants)

    class ExploreMachine(RuleBasedStateMachine):
        pods = Bundle("pods")

        def __init__(self) -> None:
            super().__init__()
            self.run: LiveRun | None = None
            self.world: World | None = None
            context = current_build_context()
            if not context.is_final and session.spent():
                context.data.mark_overrun()  # the budget is spent: see the module doc
            self.last: tuple[str, dict[str, Any]] = ("start", {})
            self.faults = 0
            self.pod_count = 0
            self.stopped = False  # met a known violation: the run goes on without acting

        # -- setup -----------------------------------------------------------------------
        @initialize(node=st.integers(0, fleet_size - 1), variant=st.integers(0, variant_count - 1))
        def setup(self, node: int, variant: int) -> None:
            chosen = session.variants[variant]
            header = session.header(session.fleet[node], chosen)
            self.world = world_for(header, chosen, session.claims.bound("health"), session.resource)
            self.world.plugin_start(0, {})
            self.run = LiveRun(header, session.run_options, self.world)
            live = [str(g.uuid) for g in self.run.ctx.node.gpus]
            assert live == [g.uuid for g in self.world.gpus], f"the node is not its profile: {live}"
            session.run_started(self.run)

        @invariant()
        def invariants_hold(self) -> None:
            if self.run is None or self.world is None or self.stopped:
                return
            kind, args = self.last
            situation = Situation(self.world, kind, args, session.claims, self.run)
            try:
                check_after(self.run, situation, session.invariants, session.tally, session.known)
            except Known as known:
                session.tally.repeats[str(known)] += 1
                session.tally.violations[str(known).split(":")[0]] += 1
                self.stopped = True  # a bug found before: the rest of this run only draws
            except Violation:
                # from now on this batch shrinks, within its own budget
                session.violation_seen(self.run.record.actions)
                raise

        def teardown(self) -> None:
            if self.run is not None:
                self.run.close()
                session.run_finished(self.run)

        # -- helpers ---------------------------------------------------------------------
        def _do(
            self,
            name: str,
            args: dict[str, Any],
            may_fail: bool = False,
            observe: Callable[[bool], dict[str, Any]] | None = None,
            **step_args: Any,
        ) -> bool:
            """Run one action and tell the model; ``observe`` adds what the step returned (its devices).

            After a known violation the run only tells the model, so its draws stay as they were."""
            assert self.world is not None
            action = BY_NAME[name]
            if self.run is None or self.stopped:
                action.effect(self.world, Tick(0, {}, lambda gpu: False), {**args, "ok": False})
                return False
            seq = self.run.ctx.log.last_seq
            tick = Tick(seq, self.run.fired(), self.run.served)
            ok = self.run.act(action.step(**step_args), may_fail=may_fail)
            seen = observe(ok) if observe is not None else {}
            action.effect(self.world, tick, {**args, **seen, "ok": ok})
            self.last = (name, args)
            session.tally.actions += 1
            return ok

        def _pick(self, gpus: list[GpuTruth], i: int) -> int:
            return gpus[i % len(gpus)].index

        def live(self) -> bool:
            return self.world is not None

        def answering(self) -> list[GpuTruth]:
            return self.world.answering() if self.world is not None else []

        # -- the node ----------------------------------------------------------------------
        @precondition(lambda self: self.live() and bool(self.answering()))
        @rule(i=st.integers(0, 7), xid=st.sampled_from(XIDS))
        def xid(self, i: int, xid: int) -> None:
            gpu = self._pick(self.answering(), i)
            self._do("xid", {"gpu": gpu, "xid": xid}, gpu=gpu, xid=xid)

        @precondition(lambda self: self.live() and bool(self.answering()))
        @rule(i=st.integers(0, 7), kind=st.sampled_from(("single", "double")))
        def ecc(self, i: int, kind: str) -> None:
            gpu = self._pick(self.answering(), i)
            self._do("ecc", {"gpu": gpu}, gpu=gpu, kind=kind)

        @precondition(lambda self: self.live() and bool(self.answering()))
        @rule(i=st.integers(0, 7))
        def gpu_lost(self, i: int) -> None:
            gpu = self._pick(self.answering(), i)
            self._do("gpu_lost", {"gpu": gpu}, gpu=gpu)

        @precondition(lambda self: self.live() and any(g.lost for g in self.world.gpus))
        @rule(i=st.integers(0, 7))
        def gpu_recover(self, i: int) -> None:
            assert self.world is not None
            gpu = self._pick([g for g in self.world.gpus if g.lost], i)
            self._do("gpu_recover", {"gpu": gpu}, gpu=gpu)

        @precondition(lambda self: self.live() and self.faults < MAX_FAULT_CALLS)
        @rule(function=st.sampled_from(FAILING_CALLS), count=st.integers(1, 2))
        def nvml_error(self, function: str, count: int) -> None:
            self.faults += 1
            self._do("nvml_error", {"function": function, "count": count}, function=function, count=count)

        @precondition(lambda self: self.live() and self.faults < MAX_FAULT_CALLS)
        @rule(function=st.sampled_from(SLOW_CALLS), ms=st.sampled_from(LATENCIES_MS))
        def latency(self, function: str, ms: int) -> None:
            self.faults += 1
            self._do("latency", {"function": function, "ms": ms}, function=function, ms=ms)

        @precondition(lambda self: self.live() and len(self.answering()) > 1)
        @rule(i=st.integers(0, 7))
        def hide(self, i: int) -> None:
            gpu = self._pick(self.answering(), i)
            self._do("hide", {"gpu": gpu}, gpu=gpu)

        @precondition(lambda self: self.live() and any(g.hidden for g in self.world.gpus))
        @rule(i=st.integers(0, 7))
        def unhide(self, i: int) -> None:
            assert self.world is not None
            gpu = self._pick([g for g in self.world.gpus if g.hidden], i)
            self._do("unhide", {"gpu": gpu}, gpu=gpu)

        def _rebuild(self, how: str, failing: tuple[str, int] | None) -> None:
            """An action that may rebuild the plugin, after an NVML failure drawn with it, if any.

            A rebuild is where the plugin calls NVML most (enumeration, event registration), so a
            failure injected just before it lands there; drawn as separate actions the two rarely
            meet in a short run. The failure is an ordinary ``nvml_error`` action of its own."""
            if failing is not None and how in REBUILDS and self.faults < MAX_FAULT_CALLS:
                self.nvml_error(*failing)
            self._do(how, {})

        # -- the kubelet -------------------------------------------------------------------
        @precondition(lambda self: self.live() and self.world.kubelet_up)
        @rule(how=st.sampled_from(("kubelet_restart", "kubelet_crash")), failing=REBUILD_FAILURES)
        def kubelet_down(self, how: str, failing: tuple[str, int] | None) -> None:
            self._rebuild(how, failing)

        @precondition(lambda self: self.live() and not self.world.kubelet_up)
        @rule(failing=REBUILD_FAILURES)
        def kubelet_start(self, failing: tuple[str, int] | None) -> None:
            self._rebuild("kubelet_start", failing)

        # -- the plugin --------------------------------------------------------------------
        @precondition(lambda self: self.live() and self.world.plugin_running)
        @rule(how=st.sampled_from(session.plugin_actions()), failing=REBUILD_FAILURES)
        def plugin_act(self, how: str, failing: tuple[str, int] | None) -> None:
            self._rebuild(how, failing)

        @precondition(lambda self: self.live() and not self.world.plugin_running)
        @rule(failing=REBUILD_FAILURES)
        def plugin_start(self, failing: tuple[str, int] | None) -> None:
            self._rebuild("plugin_start", failing)

        # -- pods ----------------------------------------------------------------------------
        @precondition(lambda self: self.live() and self.world.kubelet_up and self.pod_count < MAX_PODS)
        @rule(
            target=pods,
            r=st.integers(0, 3),
            apps=st.lists(st.integers(0, 2), min_size=1, max_size=2),
            inits=st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=2),
        )
        def admit(self, r: int, apps: list[int], inits: list[tuple[int, bool]]) -> Any:
            assert self.world is not None
            names = sorted(self.world.resources()) or [session.resource]
            resource = names[r % len(names)]
            self.pod_count += 1
            pod = f"p{self.pod_count}"
            args = {"pod": pod, "resource": resource, "apps": apps, "inits": inits}
            step = {"pod": pod, "resource": resource, "default_resource": session.resource, "apps": apps}
            run = self.run

            def ids(ok: bool) -> dict[str, Any]:
                return {"ids": run.admission_ids(pod) if ok and run is not None else {}}

            self._do("admit", args, may_fail=True, observe=ids, **step, inits=inits)
            return pod  # also when rejected (the bundle must not depend on what the system did)

        def _container(self, pod: str, i: int, started: bool | None) -> str | None:
            if self.world is None or not self.world.kubelet_up or pod not in self.world.pods:
                return None
            names = [
                c.name for c in self.world.pods[pod].containers if started is None or c.started == started
            ]
            return names[i % len(names)] if names else None

        @precondition(lambda self: self.live())
        @rule(pod=pods, i=st.integers(0, 3))
        def start_container(self, pod: str, i: int) -> None:
            name = self._container(pod, i, started=False)
            if name is not None:
                args = {"pod": pod, "container": name}
                self._do("start_container", args, may_fail=True, pod=pod, container=name)

        @precondition(lambda self: self.live())
        @rule(pod=pods, i=st.integers(0, 3))
        def restart_container(self, pod: str, i: int) -> None:
            name = self._container(pod, i, started=True)
            if name is not None:
                args = {"pod": pod, "container": name}
                self._do("restart_container", args, may_fail=True, pod=pod, container=name)

        @precondition(lambda self: self.live())
        @rule(pod=consumes(pods))
        def delete(self, pod: str) -> None:
            if self.world is not None and self.world.kubelet_up and pod in self.world.pods:
                self._do("delete", {"pod": pod}, pod=pod)

        # -- time ----------------------------------------------------------------------------
        # Not named "advance": Hypothesis sorts rules by name (after targets and argument count)
        # and draws the first valid one far more often than the rest; as the first, a time jump
        # made about a fifth of all runs idle (nothing but 30 s jumps, measured on seed 0).
        @precondition(lambda self: self.live())
        @rule(by=st.sampled_from(JUMPS))
        def time_jump(self, by: str) -> None:
            self._do("advance", {"by": by}, by=by)

    return ExploreMachine
