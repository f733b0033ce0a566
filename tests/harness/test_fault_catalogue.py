"""The inject step is the fault catalogue's, and the scenario library exercises every fault."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fake_nvml.injections import FAULTS
from harness.model.scenario import load
from harness.steps.inject import Inject

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_inject_steps_keys_are_the_catalogues_faults_and_modifiers() -> None:
    keys = [f.name for f in dataclasses.fields(Inject)]
    names = [f.name for f in FAULTS]
    modifiers = {p.name for f in FAULTS for p in f.modifiers}
    assert keys[: len(names)] == names
    assert set(keys[len(names) :]) == modifiers


def test_every_fault_of_the_catalogue_has_a_scenario() -> None:
    used: dict[str, list[str]] = {}
    for path in sorted(SCENARIOS.rglob("*.yaml")):
        if any(part.startswith("_") for part in path.relative_to(SCENARIOS).parts):
            continue  # fragments and fixtures, included by the scenarios
        for scenario in load(path):
            for call in scenario.steps:
                if call.step.key == "inject":
                    used.setdefault(call.step.fault.name, []).append(path.name)
    missing = [f.name for f in FAULTS if f.name not in used]
    assert missing == [], f"faults with no scenario: {missing}"


def test_only_faults_real_nvml_cannot_carry_need_the_simulation() -> None:
    for f in FAULTS:
        step = Inject(**{f.name: "x"})
        assert step.simulated_only is (not f.real)
