"""The command line and the pytest plugin with profiles, other node sizes and grouped skips."""

from __future__ import annotations

import textwrap

import pytest

from harness.cli import main

XID = (
    "description: xid\ntags: [conformance]\nrequires: {features: [health-xid]}\nnode: 2xH100\nsteps:\n"
    "  - expect: {allocatable: '{gpus}', within: 5s}\n  - inject: {xid: 79, gpu: gpu-1}\n"
    "  - expect: {health: {gpu-1: Unhealthy}, allocatable: '{gpus-1}', within: 2s}\n"
)
TWO = "description: two\nrequires: {gpus: 2..}\nnode: 2xH100\nsteps:\n  - expect: {allocatable: 2}\n"


def test_run_groups_skips_by_reason_and_names_the_profile(write, tmp_path, capsys) -> None:
    write("s/xid.yaml", XID)
    write("s/two.yaml", TWO)
    assert main(["run", str(tmp_path / "s"), "--no-reports", "--node", "1xH100"]) == 0
    captured = capsys.readouterr()
    assert "plugin profile: ours" in captured.out
    assert (
        "ran 1, skipped 1, grouped by reason:\n     1  needs 2 or more GPUs, the node has 1" in captured.out
    )
    assert (  # every selected case skipped: nothing ran, exit 5
        main(["run", str(tmp_path / "s"), "--no-reports", "--plugin-profile", "generic", "-k", "conformance"])
        == 5
    )
    assert "1  the plugin profile 'generic' does not claim health-xid" in capsys.readouterr().out


def test_a_bad_profile_or_node_stops_the_run_before_any_case(write, tmp_path, capsys) -> None:
    write("s/xid.yaml", XID)
    assert main(["run", str(tmp_path / "s"), "--no-reports", "--plugin-profile", "nvidai"]) == 2
    assert "no shipped plugin profile 'nvidai'" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "s"), "--no-reports", "--node", "3xNoSuch"]) == 2
    assert "--node '3xNoSuch': unknown GPU product 'NoSuch'" in capsys.readouterr().err


def test_conformance_writes_the_generated_block_into_the_guide(write, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write("scenarios/x/xid.yaml", XID.replace("description: xid", "description: xid\nsource: kubelet (x)"))
    guide = tmp_path / "guide.md"
    guide.write_text(
        "intro\n<!-- BEGIN GENERATED (python -m harness conformance) -->\nold\n<!-- END GENERATED -->\ntail\n"
    )
    assert main(["conformance", str(tmp_path / "scenarios"), "--write", str(guide)]) == 0
    text = guide.read_text()
    assert text.startswith("intro\n") and text.endswith("tail\n") and "old" not in text
    assert "| `health-xid` | NVIDIA plugin |" in text and "1.. GPUs, health-xid" in text


@pytest.fixture
def pytest_scenarios(pytester: pytest.Pytester):
    def make(**files: str) -> None:
        for name, text in files.items():
            path = pytester.path / "scenarios" / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")

    return make


def test_pytest_selects_conformance_and_sums_up_skips(pytester: pytest.Pytester, pytest_scenarios) -> None:
    pytest_scenarios(xid=XID, two=TWO)
    pytester.makeini("[pytest]\nharness_paths = scenarios\n")
    result = pytester.runpytest("-m", "conformance", "--node", "1xH100")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("--node", "1xH100")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*scenario cases*", "ran 1, skipped 1, grouped by reason:", "*1  needs 2 or more GPUs*"]
    )


def test_pytest_refuses_a_bad_profile_with_the_reason(pytester: pytest.Pytester, pytest_scenarios) -> None:
    pytest_scenarios(xid=XID)
    pytester.makeini("[pytest]\nharness_paths = scenarios\n")
    result = pytester.runpytest("--plugin-profile", "missing.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--plugin-profile 'missing.yaml': no such plugin profile file*"])


def test_skips_for_missing_features_group_by_the_first_one() -> None:
    from harness.skips import by_reason

    reasons = [
        "the plugin profile 'g' does not claim health-xid",
        "the plugin profile 'g' does not claim health-xid; also sighup",
        "needs 2 or more GPUs, the node has 1",
    ]
    assert by_reason(reasons) == [
        ("the plugin profile 'g' does not claim health-xid", 2),
        ("needs 2 or more GPUs, the node has 1", 1),
    ]
