"""The base classes of steps and conditions: what every entry of the two tables is.

A step is one mapping in ``steps:`` with exactly one action key (``kubelet: restart``,
``inject: {xid: 79, gpu: gpu2}``, ``expect: {...}``). A condition is one key of an
``expect:`` or ``never:`` mapping; it looks at the scenario's live state (a
:class:`harness.context.Ctx`) and says whether it holds and what it observed. The parsers of
whole step lists and condition sets are in :mod:`harness.model.calls`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from harness.errors import UNKNOWN, Loc
from harness.loader import YNode
from harness.model.schema import ParseCtx, parse_dataclass

if TYPE_CHECKING:
    from harness.context import Ctx


class Step:
    """An action or an expectation; subclasses are dataclasses of their arguments."""

    key: ClassVar[str] = ""
    loc: Loc = UNKNOWN

    def run(self, ctx: Ctx) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return self.key

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Step:
        step: Step = parse_dataclass(cls, node, ctx, f"'{cls.key}'")
        step.loc = node.loc
        step.validate(node)
        return step

    def validate(self, node: YNode) -> None:
        """Checks across fields, raising ScenarioError at ``node`` (override when needed)."""


@dataclass
class Verdict:
    """Whether a condition holds now, and what was observed (shown when it matters)."""

    ok: bool
    observed: str


class Condition:
    """A predicate over the scenario's live state (kubelet, node, plugin output, events)."""

    key: ClassVar[str] = ""
    loc: Loc = UNKNOWN

    def evaluate(self, ctx: Ctx) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        return self.key

    def wanted_health(self, ctx: Ctx) -> dict[str, str]:
        """Device ID → the health this condition wants of it (a failed case's timeline draws it
        over the devices); none for conditions about other things."""
        return {}

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Condition:
        cond: Condition = parse_dataclass(cls, node, ctx, f"'{cls.key}'")
        cond.loc = node.loc
        return cond


def since_seq(ctx: Ctx, since: Literal["start", "step"] | str) -> int:
    """The log position a condition's ``since:`` counts from: the start, or the last action step."""
    return ctx.step_seq if since == "step" else 0
