"""Budgets on what one scenario file may ask for, so that no input can hang or exhaust the harness.

Why budgets: a scenario file is untrusted input as far as the loader is concerned. A YAML alias
bomb, a 5,000-deep list, a matrix of 10^8 cases or a node of 100,000 GPUs would otherwise take
minutes and gigabytes before failing with a traceback. Each budget is generous for any real
scenario, is checked *before* the work it bounds is done, and is named in the error together
with the environment variable that raises it (environment variables reach the CLI, the pytest
plugin and the worker processes of ``-n`` alike).

This is the one table of budgets: the loader, the matrix expansion, the node check and the
runner read their limits from here, and ``docs/scenarios.md`` lists them from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class LimitError(ValueError):
    """A budget's environment variable holds something that is not a usable limit."""


@dataclass(frozen=True)
class Limit:
    """One budget: its default, the environment variable that overrides it, and what it counts."""

    env: str
    default: int
    what: str  # what is counted, as a noun phrase: "bytes in one scenario file"
    ceiling: int | None = None  # above this the harness itself cannot keep its promise

    def value(self) -> int:
        """The limit in force: the environment's value, or the default."""
        raw = os.environ.get(self.env, "").strip()
        if not raw:
            return self.default
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise LimitError(f"{self.env}={raw!r} is not a whole number (it sets the {self.what})") from None
        if value < 1:
            raise LimitError(f"{self.env}={raw} must be at least 1 (it sets the {self.what})")
        if self.ceiling is not None and value > self.ceiling:
            raise LimitError(f"{self.env}={raw} is above the most the harness supports, {self.ceiling}")
        return value

    def breach(self, what_happened: str, limit: int | None = None) -> str:
        """The sentence for a breach: what happened, the limit, and how to raise it."""
        limit = self.value() if limit is None else limit
        return f"{what_happened}; the limit is {limit} {self.what} (raise it with {self.env}=N)"


FILE_BYTES = Limit("HARNESS_MAX_FILE_BYTES", 16 * 1024 * 1024, "bytes in one scenario file")
YAML_DEPTH = Limit("HARNESS_MAX_YAML_DEPTH", 64, "levels of nested lists and mappings", ceiling=200)
ALIAS_VALUES = Limit("HARNESS_MAX_ALIAS_VALUES", 100_000, "values repeated through YAML aliases")
MATRIX_CASES = Limit("HARNESS_MAX_MATRIX_CASES", 1_000, "matrix combinations in one file")
NODE_GPUS = Limit("HARNESS_MAX_NODE_GPUS", 256, "GPUs on a simulated node")
# The wall cap: a case whose steps outlast it fails with the step that was running. A file
# sets its own with 'timeout:'; the ceiling is the longest duration a scenario may write.
CASE_SECONDS = Limit(
    "HARNESS_MAX_CASE_SECONDS",
    300,
    "seconds of wall-clock time for one case's steps",
    ceiling=365 * 24 * 3600,
)

LIMITS = (FILE_BYTES, YAML_DEPTH, ALIAS_VALUES, MATRIX_CASES, NODE_GPUS, CASE_SECONDS)
