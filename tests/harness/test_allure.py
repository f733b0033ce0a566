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
        "suite": [
            (lb["name"], lb["value"]) for lb in data["labels"] if lb["name"].endswith(("suite", "Suite"))
        ],
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


MATRIX = """
description: one matrix case fails, the other passes
node: 2xH100
matrix:
  want: [2, 3]
steps:
  - expect: {registered: true, within: 5s}
  - expect: {allocatable: "{matrix.want}", within: 300ms}
"""


def results_by_name(folder: Path) -> dict[str, dict]:
    return {d["name"]: d for d in (json.loads(p.read_text()) for p in folder.glob("*-result.json"))}


def test_each_matrix_case_is_its_own_allure_test_with_a_stable_id(pytester: pytest.Pytester) -> None:
    """allure keys retries by historyId: equal ids made a failed matrix case show as passed, with
    the failure hidden under 'Retries'. Each case has its own id, the same in both front ends and
    from run to run."""
    pytest.importorskip("allure_pytest")
    scenario = pytester.path / "scenarios" / "counts.yaml"
    scenario.parent.mkdir()
    scenario.write_text(textwrap.dedent(MATRIX).lstrip())
    reports = pytester.path / "reports"
    for _ in range(2):
        cli = pytester.run(
            sys.executable, "-m", "harness", "run", scenario, "--reports-dir", reports, "--report", "allure"
        )
        assert cli.ret == 1, cli.stdout.str()
    runs = sorted(p for p in reports.iterdir() if not p.is_symlink())
    first, second = (results_by_name(run / "allure-results") for run in runs)
    pytester.makefile(".ini", pytest="[pytest]\nharness_paths = scenarios\n")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--alluredir", "allure").assert_outcomes(
        passed=1, failed=1
    )
    under_pytest = results_by_name(pytester.path / "allure")
    assert set(first) == set(under_pytest) == {"counts[2]", "counts[3]"}
    assert (first["counts[2]"]["status"], first["counts[3]"]["status"]) == ("passed", "failed")
    assert first["counts[2]"]["historyId"] != first["counts[3]"]["historyId"]
    assert first["counts[2]"]["testCaseId"] == first["counts[3]"]["testCaseId"]
    assert [
        (lb["name"], lb["value"]) for lb in under_pytest["counts[3]"]["labels"] if "uite" in lb["name"]
    ] == [
        ("parentSuite", "scenarios"),
        ("suite", "counts"),
    ]
    for name in first:
        ids = {(r[name]["historyId"], r[name]["testCaseId"], r[name]["fullName"]) for r in (first, second)}
        pytest_ids = (under_pytest[name]["historyId"], under_pytest[name]["testCaseId"])
        assert ids == {(*pytest_ids, "scenarios.counts#counts")}
        case = name.split("[")[1].rstrip("]")
        assert {"name": "case", "value": repr(case)} in under_pytest[name]["parameters"]
        assert first[name]["parameters"] == [{"name": "case", "value": repr(case)}]


def test_an_identity_seen_from_a_node_keeps_its_case_and_changes_its_history_id() -> None:
    from harness.reports.allure import Identity

    case = Identity("scenarios.counts#counts", (("case", "'3'"),))
    on_a = case.with_parameter("node", "gpu-a")
    assert on_a.parameters == (("case", "'3'"), ("node", "'gpu-a'"))
    assert on_a.test_case_id == case.test_case_id
    assert len({case.history_id, on_a.history_id, case.with_parameter("node", "gpu-b").history_id}) == 3
