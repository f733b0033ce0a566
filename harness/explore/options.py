"""What one explore session does: its seed, its budgets, its fleet and the plugin under test.

Kept apart from the session so that the command line can read the defaults without importing
the stack (gRPC reads its verbosity once, when first imported).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.options import RunOptions


@dataclass
class ExploreOptions:
    seed: int = 0
    max_examples: int = 100_000  # runs (the budget usually ends a session first)
    # seconds of exploring (shrinking a violation found in time may go past it); 120 s is about
    # 150-300 runs here, in which both recovery bugs of issue 17 are found (docs/explore.md)
    budget: float = 120.0
    shrink_budget: float = 180.0  # seconds a batch may spend shrinking what it found
    steps: int = 6  # actions per run (short runs shrink fast; more runs make up for it)
    fleet_size: int = 12
    invariants: list[str] | None = None
    run_options: RunOptions = field(default_factory=RunOptions)
