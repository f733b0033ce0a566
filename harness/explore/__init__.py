"""``dp-harness explore``: seeded random fault sequences over the real stack, checked against
invariants, shrunk to a minimal scenario (docs/explore.md).

Layers inside (import-linter, ``pyproject.toml``): ``explorer`` > ``report`` > ``reproducer`` >
``session`` > ``machine`` > ``checking`` > ``live`` > ``invariants`` > ``actions`` > ``world`` >
``plugins | fleet | leaks | options``.

    from harness.explore import ExploreOptions, explore
    outcome = explore(ExploreOptions(seed=7, budget=30), out=None)
    assert outcome.ok, outcome.findings

Names are imported when first used, so that ``import harness.explore.options`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ExploreOptions": "harness.explore.options",
    "Finding": "harness.explore.session",
    "Outcome": "harness.explore.explorer",
    "explore": "harness.explore.explorer",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness.explore' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = sorted(_EXPORTS)
