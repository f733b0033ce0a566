"""The tables of step types and condition types.

Why a table: the parser, the validator's "did you mean", the runner's dispatch and the docs'
reference all read it, so adding a step is one new class in one file under ``harness/steps/``
(or a condition under ``harness/conditions/``), registered with a decorator; the modules of
both packages are imported on first use.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from harness.model.base import Condition, Step

STEPS: dict[str, type[Step]] = {}
CONDITIONS: dict[str, type[Condition]] = {}
S = TypeVar("S", bound="type[Step]")
C = TypeVar("C", bound="type[Condition]")
_loaded = False


def step(key: str):
    """Register a step type under its YAML key."""

    def register(cls: S) -> S:
        if key in STEPS:
            raise ValueError(
                f"step '{key}' is registered twice ({STEPS[key].__module__} and {cls.__module__})"
            )
        cls.key = key
        STEPS[key] = cls
        return cls

    return register


def condition(key: str):
    """Register a condition type (usable in ``expect:`` and ``never:``) under its YAML key."""

    def register(cls: C) -> C:
        if key in CONDITIONS:
            raise ValueError(f"condition '{key}' is registered twice")
        cls.key = key
        CONDITIONS[key] = cls
        return cls

    return register


def load_all() -> None:
    """Import every module of ``harness.steps`` and ``harness.conditions`` (they register themselves)."""
    global _loaded
    if _loaded:
        return
    for package_name in ("harness.steps", "harness.conditions"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{package_name}.{info.name}")
    _loaded = True
