"""The step list and the condition sets of a scenario, parsed through the two tables.

``steps:`` is a list of :class:`StepCall` (a step plus its optional ``name`` and ``at``);
``expect:`` and ``never:`` mappings are :class:`ConditionSet` s. Both look keys up in
:mod:`harness.model.registry`, so unknown keys get "did you mean" from the same table the
runner dispatches on.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import UNKNOWN, Loc, ScenarioError, did_you_mean
from harness.loader import YNode
from harness.model import registry
from harness.model.base import Condition, Step, Verdict
from harness.model.duration import Duration
from harness.model.schema import ParseCtx, parse
from harness.requires import check_features

if TYPE_CHECKING:
    from harness.context import Ctx


@dataclass
class ConditionSet:
    """Conditions that must all hold together (the keys of one ``expect:`` or ``never:`` mapping)."""

    conditions: list[Condition]
    loc: Loc = UNKNOWN

    def evaluate(self, ctx: Ctx) -> Verdict:
        observed = []
        ok = True
        for cond in self.conditions:
            verdict = cond.evaluate(ctx)
            ok = ok and verdict.ok
            observed.append(verdict.observed)
        return Verdict(ok, "; ".join(o for o in observed if o))

    def failing(self, ctx: Ctx) -> list[tuple[Condition, Verdict]]:
        return [(c, v) for c in self.conditions if not (v := c.evaluate(ctx)).ok]

    def describe(self) -> str:
        return "; ".join(f"{c.key} {c.describe()}".strip() for c in self.conditions)

    @classmethod
    def parse(cls, node: YNode, ctx: ParseCtx, what: str, extra_keys: tuple[str, ...] = ()) -> ConditionSet:
        registry.load_all()
        if not node.is_map:
            raise ScenarioError(
                node.loc,
                f"{what} cannot be {node.kind()}",
                expected=f"a mapping of conditions ({', '.join(sorted(registry.CONDITIONS))})",
            )
        conditions = []
        for key, value in node.value.items():
            if key in extra_keys:
                continue
            if key not in registry.CONDITIONS:
                known = [*registry.CONDITIONS, *extra_keys]
                raise ScenarioError(
                    node.key_loc(key),
                    f"unknown condition '{key}' in {what}",
                    expected=f"one of {', '.join(sorted(known))}",
                    suggestion=did_you_mean(key, known),
                )
            conditions.append(registry.CONDITIONS[key].from_yaml(value, ctx))
        if not conditions:
            raise ScenarioError(
                node.loc,
                f"{what} names no condition",
                expected=f"at least one of {', '.join(sorted(registry.CONDITIONS))}",
            )
        return cls(conditions, node.loc)

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> ConditionSet:
        return cls.parse(node, ctx, "a 'never' entry")

    @classmethod
    def yaml_expected(cls) -> str:
        return "a mapping of conditions"


COMMON_STEP_KEYS = ("name", "at", "requires")


@dataclass
class StepCall:
    """One entry of ``steps:``: the step, its optional name, the scenario time to run it at, and the
    profile features it needs (``requires``: without them the step is skipped, the case goes on)."""

    step: Step
    name: str = ""
    at: Duration | None = None
    requires: list[str] = field(default_factory=list)
    loc: Loc = UNKNOWN
    index: int = 0
    origin: list[Loc] = field(default_factory=list)  # the include chain, outermost first

    @classmethod
    def yaml_expected(cls) -> str:
        return "a step (see Steps)"

    def title(self) -> str:
        text = self.name or self.step.describe()
        return f"step {self.index} ({self.step.key}): {text}"

    @classmethod
    def parse(cls, node: YNode, ctx: ParseCtx, index: int) -> StepCall:
        registry.load_all()
        what = f"step {index}"
        if not node.is_map:
            close = (
                difflib.get_close_matches(str(node.value), registry.STEPS, n=1)
                if isinstance(node.value, str)
                else []
            )
            raise ScenarioError(
                node.loc,
                f"{what} cannot be {node.kind()}",
                expected=f"a mapping with one action key ({', '.join(sorted(registry.STEPS))})",
                suggestion=f"did you mean '{close[0]}: ...'?" if close else "",
            )
        actions = [k for k in node.value if k in registry.STEPS]
        unknown = [k for k in node.value if k not in registry.STEPS and k not in COMMON_STEP_KEYS]
        if unknown:
            key = unknown[0]
            known = [*registry.STEPS, *COMMON_STEP_KEYS]
            raise ScenarioError(
                node.key_loc(key),
                f"unknown key '{key}' in {what}",
                expected=f"an action ({', '.join(sorted(registry.STEPS))}) or {', '.join(COMMON_STEP_KEYS)}",
                suggestion=did_you_mean(key, known),
            )
        if len(actions) != 1:
            if not actions:
                raise ScenarioError(
                    node.loc, f"{what} has no action", expected=f"one of {', '.join(sorted(registry.STEPS))}"
                )
            raise ScenarioError(
                node.key_loc(actions[1]),
                f"{what} has two actions ('{actions[0]}' and '{actions[1]}')",
                suggestion="split them into two steps (steps run in order)",
            )
        key = actions[0]
        step = registry.STEPS[key].from_yaml(node.value[key], ctx)
        name = parse(str, node.value["name"], ctx, "'name'") if "name" in node.value else ""
        at = Duration.from_yaml(node.value["at"]) if "at" in node.value else None
        requires: list[str] = []
        if "requires" in node.value:
            given = node.value["requires"]
            if isinstance(given.value, str):
                given = YNode([given], given.loc)
            requires = parse(list[str], given, ctx, "'requires' (features of the plugin profile)")
            check_features(requires, given, "requires")
        return cls(step, name, at, requires, node.loc, index)
