"""A generic condition on the observation log: events of a source and kind, with matching data."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.model.base import Condition, Verdict, since_seq
from harness.model.matcher import Matcher, NumberMatcher
from harness.model.registry import condition
from harness.model.schema import doc

if TYPE_CHECKING:
    from harness.context import Ctx
    from simkit import Event, ObservationLog


class LogCursor:
    """Follows one case's log from a place: each call returns only what was appended since.

    A wait evaluates its conditions on every new event; rescanning the whole log each time
    made a case of N events cost N^2. ``fresh`` says (True, ...) when it started over: another
    log (the next case) or another starting place (``since: step`` after a new step).
    """

    def __init__(self) -> None:
        self._log: weakref.ref[ObservationLog] | None = None
        self._since = -1
        self._scanned = -1

    def fresh(self, ctx: Ctx, since: int) -> tuple[bool, list[Event]]:
        log = ctx.log
        restart = self._log is None or self._log() is not log or self._since != since
        if restart:
            self._log, self._since, self._scanned = weakref.ref(log), since, since
        events = log.events(since=self._scanned)
        if events:
            self._scanned = events[-1].seq
        return restart, events

    def __getstate__(self) -> dict[str, object]:
        return {}  # a copy (a worker's, a pickled case) starts over

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]


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
        cursor: LogCursor = self.__dict__.setdefault("_cursor", LogCursor())
        restart, fresh = cursor.fresh(ctx, since_seq(ctx, self.since))
        if restart:
            self._matches: list[Event] = []
        for event in fresh:
            if (self.source is None or event.source == self.source) and (
                self.kind is None or event.kind == self.kind
            ):
                if self.data is None or self.data.match(event.data, ctx) is None:
                    self._matches.append(event)
        return self._matches
