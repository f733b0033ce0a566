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
    from simkit import Event


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
        matches = self._follow(ctx)
        n = len(matches)
        ok = n > 0 if self.count is None else self.count.match(n, ctx) is None
        last = f"; last: {matches[-1]}" if matches else ""
        return Verdict(ok, f"{n} matching events{last}")

    def _follow(self, ctx: Ctx) -> list[Event]:
        """The matching events so far; each event is matched once, when first seen (so a
        template in ``data`` resolves then)."""
        since = since_seq(ctx, self.since)
        cursor = self.__dict__.get("_cursor")
        if cursor is None or not cursor.follows(ctx.log, since):  # a new case, or a new step
            self._cursor = ctx.log.cursor(since)
            self._matches: list[Event] = []
        for event in self._cursor.fresh():
            if (self.source is None or event.source == self.source) and (
                self.kind is None or event.kind == self.kind
            ):
                if self.data is None or self.data.match(event.data, ctx) is None:
                    self._matches.append(event)
        return self._matches
