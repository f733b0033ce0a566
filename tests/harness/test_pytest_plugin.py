"""The pytest plugin, tested with pytester as pytest tests itself."""

from __future__ import annotations

import textwrap

import pytest

PASSING = """
description: the plugin registers two GPUs
tags: [registration, smoke-test]
node: 2xH100
matrix:
  id: [uuid, index]
plugin: {args: [--device-id-strategy, "{matrix.id}"]}
steps:
  - expect: {registered: true, allocatable: 2, within: 5s}
"""

WRONG = """
description: a deliberately wrong expectation
node: 2xH100
steps:
  - expect: {registered: true, within: 5s}
  - inject: {xid: 79, gpu: gpu1}
  - expect: {health: {gpu1: Unhealthy}, within: 2s}
  - expect: {allocatable: 2, within: 300ms}
"""


@pytest.fixture
def scenarios(pytester: pytest.Pytester):
    def make(**files: str) -> None:
        for name, text in files.items():
            path = pytester.path / "scenarios" / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")

    return make


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p",
        "harness.pytest_plugin",
        "--strict-markers",
        "-p",
        "no:cacheprovider",
        "--reports-dir",
        str(pytester.path / "reports"),
        *args,
    )


def test_each_matrix_case_is_an_item_named_after_file_and_case(pytester, scenarios) -> None:
    scenarios(**{"registration/two": PASSING})
    result = run(pytester, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["scenarios/registration/two.yaml::two[[]uuid[]]", "scenarios/registration/two.yaml::two[[]index[]]"]
    )


def test_scenarios_pass_and_write_reports(pytester, scenarios) -> None:
    scenarios(two=PASSING)
    result = run(pytester)
    result.assert_outcomes(passed=2)
    reports = pytester.path / "reports"
    assert (reports / "index.html").is_file()
    assert {p.name for p in reports.glob("*/timeline.svg")} == {"timeline.svg"}
    assert len(list(reports.glob("*/events.json"))) == 2


def test_tags_become_markers_accepted_by_strict_markers(pytester, scenarios) -> None:
    scenarios(two=PASSING, wrong=WRONG)
    result = run(pytester, "-m", "smoke_test")
    result.assert_outcomes(passed=2, deselected=1)


def test_a_wrong_expectation_fails_with_a_readable_report(pytester, scenarios) -> None:
    scenarios(wrong=WRONG)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*wrong failed at step 4 (expect): allocatable 2 (within 300ms)",
            "*scenarios/wrong.yaml:7:5",
            "*expectation not true within 300ms",
            "*expected: allocatable: 2",
            "*observed: allocatable: nvidia.com/gpu allocatable 1",
            "*last events*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_invalid_file_is_a_collection_error_with_file_line_col(pytester, scenarios) -> None:
    scenarios(bad="description: d\nsteps:\n  - kubelet: reboot\n")
    result = run(pytester)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*scenarios/bad.yaml:3:14: 'action' cannot be the string 'reboot'*"])


def test_fragments_are_not_collected(pytester, scenarios) -> None:
    scenarios(**{"_fragments/common": "steps:\n  - plugin: restart\n", "two": PASSING})
    result = run(pytester, "--collect-only", "-q")
    assert "_fragments" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*2 tests collected*"])
