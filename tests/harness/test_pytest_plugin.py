"""The pytest plugin keeps pytest's conventions, tested with pytester as pytest tests itself."""

from __future__ import annotations

import json
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

INI = "[pytest]\nharness_paths = scenarios\n"


@pytest.fixture
def scenarios(pytester: pytest.Pytester):
    def make(ini: str | None = INI, **files: str) -> None:
        if ini is not None:
            pytester.makefile(".ini", pytest=ini)
        for name, text in files.items():
            path = pytester.path / "scenarios" / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")

    return make


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_each_matrix_case_is_an_item_named_after_file_and_case(pytester, scenarios) -> None:
    scenarios(**{"registration/two": PASSING})
    result = run(pytester, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["scenarios/registration/two.yaml::two[[]uuid[]]", "scenarios/registration/two.yaml::two[[]index[]]"]
    )


def test_scenarios_pass_and_write_no_reports_unless_asked(pytester, scenarios) -> None:
    scenarios(two=PASSING)
    run(pytester).assert_outcomes(passed=2)
    assert not (pytester.path / "reports").exists()


def test_reports_go_into_a_folder_per_run_when_asked_for(pytester, scenarios) -> None:
    scenarios(two=PASSING, wrong=WRONG)
    result = run(pytester, "--reports-dir", "reports", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    reports = pytester.path / "reports"
    (run_dir,) = [p for p in reports.iterdir() if not p.is_symlink()]
    assert (reports / "latest").resolve() == run_dir.resolve()
    result.stdout.fnmatch_lines([f"scenario reports: {run_dir / 'index.html'}"])
    cases = sorted(json.loads(p.read_text())["id"] for p in run_dir.glob("*/result.json"))
    assert cases == ["two[index]", "two[uuid]", "wrong"]  # the workers' cases reached the controller
    assert "wrong" in (run_dir / "index.html").read_text()


def test_the_reports_dir_can_be_an_ini_setting(pytester, scenarios) -> None:
    scenarios(ini=INI + "harness_reports_dir = out\n", two=PASSING)
    run(pytester).assert_outcomes(passed=2)
    assert (pytester.path / "out" / "latest" / "index.html").is_file()


def test_run_options_are_ini_settings_too(pytester, scenarios) -> None:
    echo = "python -c \"print('plugin from the ini file')\""
    scenarios(
        ini=INI + f"harness_plugin_cmd = {echo}\n",
        says="description: d\nsteps:\n  - expect: {log: plugin from the ini file, within: 5s}\n",
    )
    run(pytester).assert_outcomes(passed=1)


def test_a_bad_option_value_is_a_usage_error_in_one_line(pytester, scenarios) -> None:
    scenarios(ini=INI + "harness_nvml = simulated\n", two=PASSING)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--nvml 'simulated': choose one of sim, real"])


@pytest.mark.parametrize(
    ("value", "says"),
    [("", "--plugin-cmd is empty"), ("plugin 'x", "no closing quotation in the command line")],
)
def test_an_empty_or_unsplittable_plugin_cmd_stops_the_session(pytester, scenarios, value, says) -> None:
    """An empty --plugin-cmd once tested our own plugin and passed; an unclosed quote, a traceback a case."""
    scenarios(two=PASSING)
    result = run(pytester, "--plugin-cmd", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{says}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_tags_are_markers_listed_before_collection_and_accepted_by_strict_markers(
    pytester, scenarios
) -> None:
    scenarios(two=PASSING, wrong=WRONG)
    listed = run(pytester, "--markers")
    listed.stdout.fnmatch_lines(["@pytest.mark.smoke_test: scenario tag 'smoke-test' (2 cases)"])
    result = run(pytester, "--strict-markers", "-m", "smoke_test")
    result.assert_outcomes(passed=2, deselected=1)


def test_a_wrong_expectation_fails_with_a_readable_report_and_its_rerun_command(pytester, scenarios) -> None:
    scenarios(wrong=WRONG)
    result = run(pytester, "--nvml", "sim")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*wrong failed at step 4 (expect): allocatable 2 (within 300ms)",
            "*scenarios/wrong.yaml:7:5",
            "*expectation not true within 300ms",
            "*expected: allocatable: 2",
            "*observed: allocatable: nvidia.com/gpu allocatable 1",
            "*last events*",
            "rerun: pytest 'scenarios/wrong.yaml::wrong'",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_invalid_file_is_a_collection_error_with_file_line_col(pytester, scenarios) -> None:
    scenarios(bad="description: d\nsteps:\n  - kubelet: pause\n")
    result = run(pytester)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*scenarios/bad.yaml:3:14: 'action' cannot be the string 'pause'*"])


def test_fragments_are_not_collected(pytester, scenarios) -> None:
    scenarios(**{"_fragments/common": "steps:\n  - plugin: restart\n", "two": PASSING})
    result = run(pytester, "--collect-only", "-q")
    assert "_fragments" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*2 tests collected*"])


def test_an_unrelated_project_with_the_plugin_installed_is_not_affected(pytester) -> None:
    """A Helm chart's values.yaml under a folder named scenarios was a collection error."""
    chart = pytester.path / "scenarios" / "values.yaml"
    chart.parent.mkdir()
    chart.write_text("replicaCount: 1\nimage: {repository: nginx}\n")
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    run(pytester).assert_outcomes(passed=1)
    for args in ((".",), ("scenarios",)):
        result = run(pytester, *args)
        assert "values.yaml" not in result.stdout.str(), args
        assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED), args
    assert not (pytester.path / "reports").exists()
    # Opting in is explicit: the YAML is then read as a scenario (and this one is not).
    opted = run(pytester, "--harness-paths", "scenarios")
    assert opted.ret != 0
    opted.stdout.fnmatch_lines(["*scenarios/values.yaml*"])


def test_scenario_yaml_in_a_project_that_did_not_opt_in_is_neither_collected_nor_a_marker(pytester) -> None:
    """Valid scenarios, even under a folder named scenarios, are the harness's only when the project
    says so (harness_paths) or a scenario file is named on the command line."""
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "two.yaml").write_text(textwrap.dedent(PASSING).lstrip())
    pytester.makepyfile(test_app="def test_app():\n    assert True\n")
    for args in ((), (".",), ("scenarios",)):
        collected = run(pytester, "--collect-only", "-q", *args)
        assert "two.yaml" not in collected.stdout.str(), args
        collected.stdout.fnmatch_lines(
            ["*1 test collected*" if args != ("scenarios",) else "no tests collected*"]
        )
    assert "smoke_test" not in run(pytester, "--markers").stdout.str()
    named = run(pytester, "--collect-only", "-q", "scenarios/two.yaml")
    named.stdout.fnmatch_lines(["scenarios/two.yaml::two[[]uuid[]]", "scenarios/two.yaml::two[[]index[]]"])
    pytester.makefile(".ini", pytest=INI)
    run(pytester, "--markers").stdout.fnmatch_lines(
        ["@pytest.mark.smoke_test: scenario tag 'smoke-test' (2 cases)"]
    )
    run(pytester).assert_outcomes(passed=3)


def test_markers_are_listed_for_every_file_before_any_is_collected(pytester, scenarios) -> None:
    """--markers collects nothing: the tags of every scenario file under harness_paths are listed,
    with how many cases carry each, also when a file is invalid (its error is collection's)."""
    scenarios(
        two=PASSING,
        other="description: d\ntags: [rollout, smoke-test]\nsteps:\n  - expect: {registered: true}\n",
        bad="description: d\ntags: [broken-file]\nsteps:\n  - kubelet: pause\n",
    )
    listed = run(pytester, "--markers")
    assert listed.ret == pytest.ExitCode.OK
    listed.stdout.fnmatch_lines_random(
        [
            "@pytest.mark.smoke_test: scenario tag 'smoke-test' (3 cases)",
            "@pytest.mark.rollout: scenario tag 'rollout' (1 cases)",
            "@pytest.mark.registration: scenario tag 'registration' (2 cases)",
        ]
    )
