"""``expect:``: conditions that must come true (``within``) and/or stay true (``for``).

Waiting is event-driven: the conditions are re-evaluated whenever the observation log
changes (every kubelet, node, plugin or harness event), with the deadline on the scenario
clock. ``for: 2s`` holds the conditions for two seconds of scenario time and fails at the
first event after which they no longer hold. With our plugin in-process, both jump the clock
over quiet stretches (``ctx.paced``): a hold costs a quiet window of real time, plus one per
timer that falls due inside it, and a wait for a timer does not wait it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.context import StepFailed
from harness.errors import ScenarioError, did_you_mean
from harness.loader import YNode
from harness.model.base import Step
from harness.model.calls import ConditionSet
from harness.model.duration import Duration, Wait
from harness.model.registry import step
from harness.model.schema import ParseCtx
from simkit import WaitTimeout

if TYPE_CHECKING:
    from harness.context import Ctx

TIMING = ("within", "for")
BOUND_PREFIX = "profile."


def _within(node: YNode, ctx: ParseCtx) -> Wait | str:
    """A duration, or ``profile.NAME``: one of the plugin profile's time bounds, read at run time."""
    value = node.value
    if isinstance(value, str) and value.startswith(BOUND_PREFIX):
        from harness.profiles import BOUNDS

        name = value[len(BOUND_PREFIX) :]
        if name not in BOUNDS:
            raise ScenarioError(
                node.loc,
                f"'{value}' is not a bound of the plugin profile",
                expected=f"a duration or one of {', '.join(BOUND_PREFIX + b for b in BOUNDS)}",
                suggestion=did_you_mean(name, BOUNDS),
            )
        return name
    return Wait.from_yaml(node, ctx)


@step("expect")
@dataclass
class Expect(Step):
    """Conditions that must hold: eventually ('within', default: the scenario's) or throughout ('for')."""

    conditions: ConditionSet
    within: Wait | str | None = None  # a str names a bound of the plugin profile
    for_: Wait | None = None

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Expect:
        conditions = ConditionSet.parse(node, ctx, "'expect'", extra_keys=TIMING)
        within = _within(node.value["within"], ctx) if "within" in node.value else None
        for_ = Wait.from_yaml(node.value["for"], ctx) if "for" in node.value else None
        if within is None and for_ is None and not node.is_map:  # pragma: no cover - parse() rejected it
            raise ScenarioError(node.loc, "expect needs conditions")
        expect = cls(conditions, within, for_)
        expect.loc = node.loc
        return expect

    @classmethod
    def yaml_expected(cls) -> str:
        return "a mapping of conditions plus optional within: / for: durations"

    def describe(self) -> str:
        timing = []
        if isinstance(self.within, str):
            timing.append(f"within the profile's {self.within} bound")
        elif self.within is not None:
            timing.append(f"within {self.within}")
        if self.for_ is not None:
            timing.append(f"for {self.for_}")
        return self.conditions.describe() + (f" ({', '.join(timing)})" if timing else "")

    def run(self, ctx: Ctx) -> None:
        within: Duration | str | float | None = self.within
        if within is None and self.for_ is None:
            within = ctx.scenario.within
        if isinstance(within, str):
            within = Duration(ctx.profile.bound(within))
        if within is not None:
            self._eventually(ctx, float(within))
        if self.for_ is not None:
            self._consistently(ctx, float(self.for_))

    def _eventually(self, ctx: Ctx, seconds: float) -> None:
        died: list[str] = []

        def settled() -> bool:
            if self.conditions.evaluate(ctx).ok or ctx.never_failed():
                return True
            if (why := died_at_start(ctx)) is not None:
                died.append(why)
                return True
            return False

        try:
            with ctx.paced(ctx.clock.now() + seconds, why="within"):
                ctx.log.wait_for(settled, seconds, self.describe())
        except WaitTimeout:
            raise self._failure(ctx, f"not true within {Duration(seconds)}") from None
        if died:
            raise self._failure(ctx, f"not true, and it cannot become true: {died[0]}")

    def _consistently(self, ctx: Ctx, seconds: float) -> None:
        start = ctx.clock.now()
        broken: list[Any] = []

        def stopped_holding() -> bool:
            if not self.conditions.evaluate(ctx).ok:
                broken.append(ctx.clock.now() - start)
                return True
            return ctx.never_failed()

        try:
            with ctx.paced(start + seconds, inclusive=True, why="for"):
                ctx.log.wait_for(stopped_holding, seconds, self.describe())
        except WaitTimeout:
            return
        if broken:
            raise self._failure(ctx, f"stopped holding after {broken[0]:.3f}s of {Duration(seconds)}")

    def _failure(self, ctx: Ctx, what: str) -> StepFailed:
        failing = self.conditions.failing(ctx)
        observed = (
            "; ".join(f"{c.key}: {v.observed}" for c, v in failing) or self.conditions.evaluate(ctx).observed
        )
        expectation = "; ".join(f"{c.key}: {c.describe()}" for c in self.conditions.conditions)
        health: dict[str, str] = {}
        for condition in self.conditions.conditions:
            health.update(condition.wanted_health(ctx))
        return StepFailed(f"expectation {what}", expectation=expectation, observed=observed, health=health)


LAST_LINES = 5


def died_at_start(ctx: Ctx) -> str | None:
    """Why waiting on is pointless: the plugin exited on its own, before the kubelet accepted a
    registration since it last started. Nothing restarts it, its output is complete, and the
    kubelet has nothing of this start to change, so an unmet expectation stays unmet; a missing
    command (exit 127) or a crash at start fails at once instead of after the whole ``within``.
    A stop or kill asked for by a step is not a death."""
    launcher = ctx.launcher
    if launcher is None or launcher.running or launcher.exit_code is None:
        return None
    starts = ctx.log.events(source="plugin", kind="start")
    since = starts[-1].seq if starts else 0
    if any(
        e.data.get("step") == "plugin" for e in ctx.log.events(source="harness", kind="step", since=since)
    ):
        return None
    if any(e.data.get("accepted") for e in ctx.log.events(source="kubelet", kind="register", since=since)):
        return None
    lines = [str(e.data.get("line", "")) for e in ctx.log.events(source="plugin", kind="log", since=since)]
    output = " | ".join(lines[-LAST_LINES:]) if lines else "(none)"
    return f"the plugin exited with code {launcher.exit_code} before it registered; its last output: {output}"
