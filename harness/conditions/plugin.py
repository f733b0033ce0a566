"""Conditions on the plugin under test: its log lines, whether it runs, how it exited."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Condition, Verdict, since_seq
from harness.model.matcher import NumberMatcher
from harness.model.registry import condition
from harness.model.schema import ParseCtx, doc, one_field_shorthand, wrap_as

if TYPE_CHECKING:
    from harness.context import Ctx


@condition("log")
@dataclass
class Log(Condition):
    """Lines the plugin logged (its output) matching a regular expression: ``log: "registered"``."""

    regex: str = doc("a Python regular expression, searched in each line")
    count: NumberMatcher | None = doc("how many lines must match (default: at least one)", default=None)
    since: Literal["start", "step"] = doc(
        "count from the scenario's start, or from the last action step", default="start"
    )

    shorthand, shorthand_expected = one_field_shorthand("regex", "just the regular expression")

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Condition:
        cond = super().from_yaml(node, ctx)
        try:
            cond._re = re.compile(cond.regex)  # type: ignore[attr-defined]
        except re.error as exc:
            where = node.value["regex"].loc if node.is_map and "regex" in node.value else node.loc
            raise ScenarioError(where, f"invalid regular expression: {exc}") from None
        return cond

    def describe(self) -> str:
        return f"/{self.regex}/" + (f" count {self.count.describe()}" if self.count else "")

    def evaluate(self, ctx: Ctx) -> Verdict:
        pattern = getattr(self, "_re", None) or re.compile(self.regex)
        # Follow the log: only lines appended since the last evaluation are read.
        since = since_seq(ctx, self.since)
        cursor = self.__dict__.get("_cursor")
        if cursor is None or not cursor.follows(ctx.log, since):  # a new case, or a new step
            self._cursor = ctx.log.cursor(since)
            self._lines, self._hits, self._tail = 0, list[str](), list[str]()
        tail: list[str] = self._tail
        for event in self._cursor.fresh():
            if event.source == "plugin" and event.kind == "log":
                line = str(event.data.get("line", ""))
                self._lines += 1
                tail = [*tail[-2:], line]
                if pattern.search(line):
                    self._hits.append(line)
        self._tail = tail
        hits = self._hits
        ok = bool(hits) if self.count is None else self.count.match(len(hits), ctx) is None
        if hits:
            return Verdict(ok, f"{len(hits)} matching lines, first: {hits[0]!r}")
        return Verdict(ok, f"no matching line among {self._lines}" + (f"; last: {tail}" if tail else ""))


@condition("exit_code")
@dataclass
class ExitCode(Condition):
    """The plugin exited, with this code (``exit_code: 1``; ``{not: 0}`` for any failure)."""

    code: NumberMatcher = doc("the exit code")

    shorthand, shorthand_expected = one_field_shorthand(
        "code", "the exit code, or a matcher such as {not: 0}"
    )

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Condition:
        if node.is_map and "code" not in node.value:
            node = wrap_as(node, "code", node)
        return super().from_yaml(node, ctx)

    def describe(self) -> str:
        return f"plugin exited with {self.code.describe()}"

    def evaluate(self, ctx: Ctx) -> Verdict:
        code = ctx.launcher.exit_code if ctx.launcher is not None else None
        if code is None:
            return Verdict(
                False,
                "the plugin is still running"
                if ctx.launcher and ctx.launcher.running
                else "the plugin has not exited",
            )
        why = self.code.match(code, ctx)
        return Verdict(why is None, f"exit code {code}")


@condition("running")
@dataclass
class Running(Condition):
    """Whether the plugin under test is running (``running: false`` once it has exited)."""

    expected: bool = doc("true or false")

    shorthand, shorthand_expected = one_field_shorthand("expected", "true or false")

    def describe(self) -> str:
        return "plugin running" if self.expected else "plugin not running"

    def evaluate(self, ctx: Ctx) -> Verdict:
        running = bool(ctx.launcher and ctx.launcher.running)
        return Verdict(running == self.expected, "running" if running else "not running")
