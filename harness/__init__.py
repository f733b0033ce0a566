"""Scenarios, runner, pytest plugin, reports and CLI (see issue 6 and docs/scenarios.md).

    from harness import load, run_scenario, RunOptions
    for scenario in load("scenarios/health/xid-fatal-marks-unhealthy.yaml"):
        result = run_scenario(scenario, RunOptions(nvml="sim"))
        print(result.status, result.report())

Names are imported lazily, so that small entry points (``python -m harness.launchers.nsinit``)
stay light.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load": "harness.model.scenario",
    "Scenario": "harness.model.scenario",
    "ScenarioError": "harness.errors",
    "Loc": "harness.errors",
    "run_scenario": "harness.runner",
    "RunOptions": "harness.options",
    "Result": "harness.result",
    "load_all": "harness.collect",
    "step": "harness.model.registry",
    "condition": "harness.model.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
