"""Errors that point at the scenario source: ``path:line:col``, the snippet, what was expected.

Why a dedicated type: a scenario author should never see a Python traceback for a typo in a
YAML file. Every problem found while loading or validating becomes a :class:`ScenarioError`
whose ``str()`` is the whole, readable report.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SNIPPET_WIDTH = 120


@dataclass(frozen=True)
class Loc:
    """A place in a scenario file (1-based line and column, as editors count)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        if self.line <= 0:  # the whole file (not found, not readable): no line to point at
            return self.path or "<unknown>"
        return f"{self.path}:{self.line}:{self.col}"

    def snippet(self, context: int = 1) -> str:
        """The source lines around this place with a caret under the column ('' if unreadable)."""
        try:
            lines = Path(self.path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        if not 1 <= self.line <= len(lines):
            return ""
        first = max(1, self.line - context)
        # A very long line (minified YAML) is shown as a window around the column.
        start = max(0, self.col - 1 - SNIPPET_WIDTH // 2)
        out = []
        for number in range(first, self.line + 1):
            out.append(f"  {number:>4} | {lines[number - 1][start : start + SNIPPET_WIDTH]}")
        out.append("       | " + " " * (self.col - 1 - start) + "^")
        return "\n".join(out)


UNKNOWN = Loc("<unknown>", 0, 0)


class ScenarioError(Exception):
    """A problem in a scenario file, reported with its location and what to do about it."""

    def __init__(
        self, loc: Loc, message: str, *, expected: str = "", suggestion: str = "", snippet: bool = True
    ) -> None:
        self.loc = loc
        self.message = message
        self.expected = expected
        self.suggestion = suggestion
        self.show_snippet = snippet
        super().__init__(self.render())

    def render(self) -> str:
        parts = [f"{self.loc}: {self.message}"]
        if self.show_snippet and (snippet := self.loc.snippet()):
            parts.append(snippet)
        if self.expected:
            parts.append(f"  expected: {self.expected}")
        if self.suggestion:
            parts.append(f"  {self.suggestion}")
        return "\n".join(parts)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean ...?' hint for an unknown name, or '' when nothing is close."""
    by_lower = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1, cutoff=0.6)
    return f"did you mean '{by_lower[close[0]]}'?" if close else ""


def one_of(choices: Iterable[str]) -> str:
    names = sorted(choices)
    return "one of " + ", ".join(f"'{n}'" for n in names)
