"""Checking the invariants after an action, and what a violation carries out of Hypothesis.

Each invariant raises its own :class:`Violation` subclass: Hypothesis tells failures apart by
exception type and place, so a run that breaks one invariant is never shrunk into a run that
breaks another (the reproducer keeps the reason it was found for).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.context import StepFailed
from harness.explore.invariants import BY_NAME, Invariant, Obligation, Situation
from harness.explore.live import LiveRun


class Violation(AssertionError):
    """An invariant broke; carries the run's scenario header and the steps that led there.

    ``signature`` says which rule of the invariant broke and why the model expected otherwise
    (``health-matches-nvml: Unhealthy: NVML says the GPU is lost``); it tells bugs apart.
    """

    invariant: str = ""
    signature: str = ""

    def __init__(
        self,
        message: str,
        *,
        observed: str,
        header: dict[str, Any],
        steps: list[dict[str, Any]],
        actions: int,
    ) -> None:
        super().__init__(f"{self.signature}: {message}")
        self.message = message
        self.observed = observed
        self.header = header
        self.steps = steps
        self.actions = actions


_CLASSES: dict[str, type[Violation]] = {}


def violation_class(invariant: str, signature: str) -> type[Violation]:
    """One exception class per signature: Hypothesis tells failures apart by type and place, so
    a run that breaks one rule is never shrunk into a run that breaks another."""
    if signature not in _CLASSES:
        name = invariant.title().replace("-", "") + "Violation"
        _CLASSES[signature] = type(name, (Violation,), {"invariant": invariant, "signature": signature})
    return _CLASSES[signature]


@dataclass
class Tally:
    """Checks and violations per invariant, runs and actions: the figures of a session."""

    runs: int = 0
    actions: int = 0
    checks: Counter[str] = field(default_factory=Counter)
    violations: Counter[str] = field(default_factory=Counter)
    repeats: Counter[str] = field(default_factory=Counter)  # known signatures met again
    inconsistent: int = 0  # batches whose replay took another path (Hypothesis's Flaky*)


class Known(Exception):
    """A violation with a signature already found (and shrunk) in this session: not raised again."""


def _raise(invariant: Invariant, run: LiveRun, message: str, observed: str, signature: str) -> None:
    raise violation_class(invariant.name, signature)(
        message,
        observed=observed,
        header=run.header,
        steps=list(run.record.steps),
        actions=run.record.actions,
    )


def check_after(
    run: LiveRun,
    situation: Situation,
    invariants: tuple[Invariant, ...],
    tally: Tally,
    known: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Check every invariant for the action just taken; raise the first Violation.

    A violation whose signature is in ``known`` raises :class:`Known` instead (the caller counts
    it and lets the run idle), so one bug met again costs no second shrink.
    """
    for invariant in invariants:
        if invariant.never is not None:
            tally.checks[invariant.name] += 1
            seen = run.never_holds(invariant.never)
            if seen is not None:
                signature = f"{invariant.name}: {', '.join(run.violation_rules())}"
                _stop(invariant, run, f"never: {invariant.statement}", seen, signature, known)
            continue
        assert invariant.obligations is not None
        for obligation in invariant.obligations(situation):
            failure = run.oblige(invariant, obligation)
            if failure is not None and not obligation.soft:
                _blame(run, situation, invariant, obligation, failure, known)
        tally.checks[invariant.name] += 1


def _stop(
    invariant: Invariant,
    run: LiveRun,
    message: str,
    observed: str,
    signature: str,
    known: set[str] | frozenset[str],
) -> None:
    if signature in known:
        raise Known(signature)
    _raise(invariant, run, message, observed, signature)


def _signature(run: LiveRun, invariant: Invariant, obligation: Obligation, situation: Situation) -> str:
    if obligation.why:  # health: the model's reasons for the GPUs the kubelet shows otherwise
        health = dict(obligation.conditions["health"])
        scope = {"resource": health.pop("resource")} if "resource" in health else {}
        wrong = [a for a, want in health.items() if not run.holds({"health": {**scope, a: want}})]
        reasons = sorted({obligation.why[a] for a in wrong}) or sorted(set(obligation.why.values()))
        return f"{invariant.name}: {'; '.join(reasons)}"
    return f"{invariant.name}: {obligation.what or 'after ' + situation.action}"


def _blame(
    run: LiveRun,
    situation: Situation,
    invariant: Invariant,
    obligation: Obligation,
    failure: StepFailed,
    known: set[str] | frozenset[str],
) -> None:
    """A failed obligation; if the plugin died meanwhile, that death is the violation instead."""
    alive = BY_NAME["plugin-alive"]
    if invariant is not alive and situation.world.plugin_running and not run.ctx.launcher.running:
        run.record.steps.pop()  # the reproducer ends where the plugin's death shows
        death = run.oblige(alive, Obligation({"running": True}, 0.1))
        if death is not None:
            signature = f"plugin-alive: after {situation.action}"
            _stop(alive, run, death.message, death.observed, signature, known)
    signature = _signature(run, invariant, obligation, situation)
    _stop(invariant, run, f"{failure.message}: {failure.expectation}", failure.observed, signature, known)
