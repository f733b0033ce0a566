"""Allure results are the same whether the CLI or pytest (with allure-pytest) ran the case."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

WRONG = """
description: a deliberately wrong expectation
tags: [health, smoke-test]
node: 2xH100
steps:
  - expect: {registered: true, within: 5s}
  - inject: {xid: 79, gpu: gpu1}
  - expect: {health: {gpu1: Unhealthy}, within: 2s}
  - expect: {allocatable: 2, within: 300ms}
"""


def summary(folder: Path) -> dict:
    (path,) = folder.glob("*-result.json")
    data = json.loads(path.read_text())
    return {
        "name": data["name"],
        "status": data["status"],
        "description": data.get("description"),
        "steps": [(s["name"], s["status"]) for s in data["steps"]],
        "attachments": sorted(a["name"] for a in data["attachments"]),
        "tags": {label["value"] for label in data["labels"] if label["name"] == "tag"},
        "suite": {label["value"] for label in data["labels"] if label["name"] == "suite"},
    }


def test_the_cli_and_pytest_write_the_same_allure_result(pytester: pytest.Pytester) -> None:
    pytest.importorskip("allure_pytest")
    scenario = pytester.path / "scenarios" / "wrong.yaml"
    scenario.parent.mkdir()
    scenario.write_text(textwrap.dedent(WRONG).lstrip())
    reports = pytester.path / "reports"
    # In a process of its own, as pytest's: pytester puts back sys.modules after the test, which
    # would drop the step modules a run in this process imports.
    cli = pytester.run(
        sys.executable, "-m", "harness", "run", scenario, "--reports-dir", reports, "--report", "allure"
    )
    assert cli.ret == 1, cli.stdout.str()
    pytester.makefile(".ini", pytest="[pytest]\nharness_paths = scenarios\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "allure").assert_outcomes(failed=1)
    cli, under_pytest = summary(reports / "latest" / "allure-results"), summary(pytester.path / "allure")
    assert (
        cli["steps"]
        == under_pytest["steps"]
        == [
            ("step 1 (expect): registered (within 5s)", "passed"),
            ("step 2 (inject): XID 79 on gpu1", "passed"),
            ("step 3 (expect): health gpu1 Unhealthy (within 2s)", "passed"),
            ("step 4 (expect): allocatable 2 (within 300ms)", "failed"),
        ]
    )
    assert cli["attachments"] == under_pytest["attachments"] == ["events", "plugin log", "timeline"]
    for key in ("name", "status", "description", "suite"):
        assert cli[key] == under_pytest[key], key
    assert cli["tags"] == {"health", "smoke-test"} <= under_pytest["tags"]  # pytest adds the marker names
