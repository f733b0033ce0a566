"""The tables of step types and condition types.

Why a table: the parser, the validator's "did you mean", the runner's dispatch and the docs'
reference all read it, so adding a step is one new class in one file under ``harness/steps/``
(or a condition under ``harness/conditions/``), registered with a decorator; the modules of
both packages are imported on first use. Installed packages add steps and conditions through
the ``dp_harness.steps`` and ``dp_harness.conditions`` entry-point groups (the entry point's
name is the YAML key; see :mod:`harness.extensions`).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from harness import extensions

if TYPE_CHECKING:
    from harness.model.base import Condition, Step

STEPS: dict[str, type[Step]] = {}
CONDITIONS: dict[str, type[Condition]] = {}
S = TypeVar("S", bound="type[Step]")
C = TypeVar("C", bound="type[Condition]")
_loaded = False


def step(key: str) -> Callable[[S], S]:
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


def condition(key: str) -> Callable[[C], C]:
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
    for key, step_cls in extensions.load_group(extensions.STEPS, dict(STEPS), _step_class).items():
        if key not in STEPS:
            step(key)(step_cls)
    for key, cond_cls in extensions.load_group(
        extensions.CONDITIONS, dict(CONDITIONS), _condition_class
    ).items():
        if key not in CONDITIONS:
            condition(key)(cond_cls)
    _loaded = True


def _step_class(obj: object) -> type[Step] | None:
    from harness.model.base import Step

    return obj if isinstance(obj, type) and issubclass(obj, Step) else None


def _condition_class(obj: object) -> type[Condition] | None:
    from harness.model.base import Condition

    return obj if isinstance(obj, type) and issubclass(obj, Condition) else None
