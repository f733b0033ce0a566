"""A generic condition on the observation log: events of a source and kind, with matching data."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.model.base import Condition, Verdict, since_seq
from harness.model.matcher import Matcher, NumberMatcher
from harness.model.registry import condition
from harness.model.schema import doc

if TYPE_CHECKING:
    from harness.context import Ctx


@condition("event")
@dataclass
class EventSeen(Condition):
    """Events in the observation log (e.g. the kubelet's prestart calls): at least one, or 'count'."""

    kind: str | None = doc("event kind (see docs/scenarios.md, 'Events')", default=None)
    source: Literal["kubelet", "node", "plugin", "harness"] | None = doc("who recorded it", default=None)
    data: Matcher | None = doc("the event's data, e.g. {resource: nvidia.com/gpu}", default=None)
    count: NumberMatcher | None = doc("how many (default: at least one)", default=None)
    since: Literal["start", "step"] = doc(
        "count from the scenario's start, or from the last action step", default="start"
    )

    def describe(self) -> str:
        what = f"{self.source or '*'}/{self.kind or '*'}"
        if self.data is not None:
            what += f" {self.data.describe()}"
        return what + (f" count {self.count.describe()}" if self.count else "")

    def evaluate(self, ctx: Ctx) -> Verdict:
        events = ctx.log.events(source=self.source, kind=self.kind, since=since_seq(ctx, self.since))
        if self.data is not None:
            events = [e for e in events if self.data.match(e.data, ctx) is None]
        n = len(events)
        ok = n > 0 if self.count is None else self.count.match(n, ctx) is None
        last = f"; last: {events[-1]}" if events else ""
        return Verdict(ok, f"{n} matching events{last}")
