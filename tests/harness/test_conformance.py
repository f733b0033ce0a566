"""The library's coverage table is generated from the scenarios and kept current."""

from __future__ import annotations

from pathlib import Path

from harness.collect import load_all
from harness.conformance import BEGIN, END, SOURCES, render, source_kind

ROOT = Path(__file__).resolve().parents[2]


def library():
    loaded = load_all([ROOT / "scenarios"])
    assert not loaded.errors, "\n\n".join(str(e) for e in loaded.errors)
    return loaded.scenarios


def test_docs_conformance_md_is_current() -> None:
    committed = (ROOT / "docs" / "conformance.md").read_text()
    block = committed[committed.index(BEGIN) : committed.index(END) + len(END) + 1]
    assert block == render(library(), ROOT), (
        "docs/conformance.md is stale: run `python -m harness conformance --write docs/conformance.md`"
    )


def test_every_scenario_pins_one_behaviour_and_names_its_source() -> None:
    for scenario in library():
        assert scenario.description.strip(), f"{scenario.path}: add a one-line description"
        assert "\n" not in scenario.description.strip(), f"{scenario.path}: description must be one line"
        assert source_kind(scenario.source), (
            f"{scenario.path}: source must start with one of {sorted(SOURCES)}, got {scenario.source!r}"
        )


def test_source_kinds_are_recognised_by_prefix_case_insensitively() -> None:
    assert source_kind("Kubelet (devicemanager/manager.go)") == "kubelet"
    assert source_kind("NVIDIA plugin (internal/rm/health.go)") == "nvidia plugin"
    assert source_kind("our rule: replicas share health") == "our rule"
    assert source_kind("a blog post") is None
