"""One explore run against the real stack: the scenario runner's setup, steps run one at a time.

The node, the kubelet and the plugin launcher are built by :class:`harness.runner.setup.Setup`
from an ordinary scenario header (node, plugin, kubelet), exactly as ``harness run`` builds
them, so ``--plugin-cmd`` and ``--launcher`` work here as there. Each action is parsed into
the same step objects a scenario file gives, and each check is an ``expect`` step; what ran
is recorded step by step, which is the reproducer.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.context import StepFailed
from harness.errors import Loc
from harness.explore.invariants import Invariant, Obligation
from harness.explore.world import GPU_RESOURCE, World
from harness.loader import load_text, wrap
from harness.model.calls import ConditionSet, StepCall
from harness.model.compose import Case
from harness.model.scenario import Scenario, parse_case
from harness.model.schema import ParseCtx
from harness.options import RunOptions
from harness.runner import run_gate, run_profile
from harness.runner.live import LiveCtx
from harness.runner.setup import Setup

HERE = "<explore>"


class StepRefused(Exception):
    """An action's own step failed where explore expected it to work (a bug of the explorer)."""


@dataclass
class Record:
    """The steps that ran, as they go into a reproducer."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    actions: int = 0


def header_yaml(header: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({**header, "steps": [{"advance": "0s"}]}, sort_keys=False)


class LiveRun:
    """The live scenario of one run; ``close()`` tears it down (also on errors)."""

    def __init__(self, header: dict[str, Any], options: RunOptions, world: World) -> None:
        self.header = header
        self.world = world
        self.record = Record()
        profile = run_profile(options)
        scenario = parse_case(Case("", {}, load_text(header_yaml(header), HERE)), HERE)
        self.scenario: Scenario = dataclasses.replace(
            scenario, steps=[], resource=scenario.resource or profile.resource
        )
        self._stack = contextlib.ExitStack()
        self._parse = ParseCtx(Path.cwd())
        self._index = 0
        try:
            node_spec = run_gate(self.scenario, options, profile)
            self.ctx: LiveCtx = Setup(self.scenario, options, self._stack, profile, node_spec).build()
        except BaseException:
            self._stack.close()
            raise

    def close(self) -> None:
        self._stack.close()

    # -- steps -----------------------------------------------------------------------------
    def _call(self, step: dict[str, Any]) -> StepCall:
        self._index += 1
        return StepCall.parse(wrap(step, Loc(HERE, self._index, 1)), self._parse, self._index)

    def act(self, step: dict[str, Any], may_fail: bool = False) -> bool:
        """Run an action step; True if it did what it says. A step that may fail (an admission, a
        container start) and did is recorded with ``fails: {any: true}``, so a replay agrees."""
        call = self._call(step)
        ctx = self.ctx
        ctx.step = call
        ctx.step_seq = ctx.log.last_seq
        ctx.note("step", index=call.index, step=call.step.key, text=call.step.describe())
        ok = True
        try:
            call.step.run(ctx)
        except StepFailed as exc:
            if not may_fail:
                raise StepRefused(f"{call.step.describe()}: {exc.message} ({exc.observed})") from None
            ok = False
        finally:
            ctx.step = None
        recorded = step
        if not ok:
            key = next(iter(step))
            recorded = {key: {**step[key], "fails": {"any": True}}}
        self.record.steps.append(recorded)
        self.record.actions += 1
        return ok

    def oblige(self, invariant: Invariant, obligation: Obligation) -> StepFailed | None:
        """Run one obligation as an expect step; the failure, or None. Recorded when it sets the pace."""
        body = {**obligation.conditions, "within": f"{max(obligation.within, 0.001):.3f}s"}
        if obligation.hold:
            body["for"] = f"{obligation.hold:.3f}s"
        step = {"name": invariant.name, "expect": body}
        call = self._call(step)
        self.ctx.step = call
        try:
            call.step.run(self.ctx)
        except StepFailed as exc:
            if not obligation.soft:
                self.record.steps.append(step)
            return exc
        finally:
            self.ctx.step = None
        if obligation.settles:
            self.record.steps.append(step)
        return None

    def holds(self, conditions: dict[str, Any]) -> bool:
        """Do these conditions hold right now (no waiting)?"""
        cset = ConditionSet.parse(wrap(conditions, Loc(HERE, 0, 0)), self._parse, "a check")
        return cset.evaluate(self.ctx).ok

    def violation_rules(self) -> list[str]:
        return sorted({v.rule for v in self.ctx.kubelet.violations})

    def never_holds(self, never: dict[str, Any]) -> str | None:
        """What a ``never:`` set saw if it holds now (a violation), else None."""
        cset = ConditionSet.parse(wrap(never, Loc(HERE, 0, 0)), self._parse, "a 'never' entry")
        verdict = cset.evaluate(self.ctx)
        return verdict.observed if verdict.ok else None

    # -- the probe: what obligations may observe -------------------------------------------
    def fired(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for event in self.ctx.log.events(source="node", kind="call_failed"):
            name = str(event.data.get("function"))
            counts[name] = counts.get(name, 0) + 1
        return counts

    def registered_since_generation(self, resource: str) -> bool:
        state = self.ctx.resource_state(resource)
        if state is None or state.endpoint is None or state.endpoint.stopped:
            return False
        return any(
            e.data.get("resource") == resource and e.data.get("accepted")
            for e in self.ctx.log.events(source="kubelet", kind="register", since=self.world.gen.seq)
        )

    def served(self, gpu: int) -> bool:
        resources = self.world.gpu(gpu).resources
        return self.world.serving() and all(self.registered_since_generation(r) for r in resources)

    def allocation_ids(self, pod: str, container: str, resource: str) -> list[str] | None:
        try:
            held = self.ctx.kubelet.allocations(pod)
        except KeyError:
            return None
        for a in held:
            if a.container == container and a.resource == resource:
                return list(a.devices)
        return None

    def quantities(self) -> dict[str, tuple[int, int]]:
        return {name: (r.capacity, r.allocatable) for name, r in self.ctx.kubelet.resources().items()}

    def running(self) -> bool:
        return bool(self.ctx.launcher.running)

    def admission_ids(self, pod: str) -> dict[str, list[str]]:
        admission = self.ctx.admissions.get(pod)
        if admission is None or not admission.admitted:
            return {}
        return {a.container: list(a.devices) for a in admission.allocations}

    @property
    def resource(self) -> str:
        return self.scenario.resource or GPU_RESOURCE
