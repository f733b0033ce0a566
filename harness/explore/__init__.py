"""``harness explore``: seeded random fault sequences over the real stack, checked against
invariants, shrunk to a minimal scenario (docs/explore.md).

Layers inside (import-linter): ``cli`` > ``explorer`` > ``report`` > ``reproducer`` > ``session`` >
``machine`` > ``checking`` > ``live`` > ``invariants`` > ``actions`` > ``world`` > ``plugins`` |
``fleet`` | ``leaks``.

    from harness.explore import ExploreOptions, explore
    outcome = explore(ExploreOptions(seed=7, budget=30), out=None)
    assert outcome.ok, outcome.findings
"""

from harness.explore.explorer import Outcome, explore
from harness.explore.session import ExploreOptions, Finding

__all__ = ["ExploreOptions", "Finding", "Outcome", "explore"]
