"""A run that tested nothing never passes: all-skipped runs exit 5, and --nvml real without NVML stops."""

from __future__ import annotations

import sys

import pynvml
import pytest

from harness import realnode
from harness.cli import main
from harness.options import OptionError, rerun_args, run_options

ONE_GPU = "description: registers\nnode: 1xH100\nsteps:\n  - expect: {registered: true, within: 5s}\n"
TWO_GPUS = (
    "description: needs two\nrequires: {gpus: 2..}\nnode: 2xH100\n"
    "steps:\n  - expect: {registered: true, allocatable: '{gpus}', within: 5s}\n"
)
# What the conftest of a pytest run, or a test, puts where pynvml was: an NVML whose library is missing.
NO_NVML = """
import pynvml


class NoLibrary:
    def __getattr__(self, name):
        return getattr(pynvml, name)

    def nvmlInit(self):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)
"""


class NoLibrary:
    def __getattr__(self, name: str) -> object:
        return getattr(pynvml, name)

    def nvmlInit(self) -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)


@pytest.fixture
def no_nvml(monkeypatch: pytest.MonkeyPatch):
    """This machine without NVML, whatever it really has."""
    monkeypatch.setitem(sys.modules, "pynvml", NoLibrary())
    realnode.machine_facts.cache_clear()
    yield
    realnode.machine_facts.cache_clear()


def test_a_run_whose_every_case_is_skipped_exits_5_with_one_line_saying_why(write, tmp_path, capsys) -> None:
    write("s/two.yaml", TWO_GPUS)
    write("s/two-more.yaml", TWO_GPUS)
    reports = tmp_path / "reports"
    assert main(["run", str(tmp_path / "s"), "--node", "1xH100", "--reports-dir", str(reports)]) == 5
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == (
        "nothing ran: all 2 cases were skipped (2: needs 2 or more GPUs, the node has 1); exit status 5"
    )
    assert (reports / "latest" / "junit.xml").is_file()  # the skips are still reported


def test_a_run_where_one_case_ran_and_the_others_skipped_passes(write, tmp_path, capsys) -> None:
    write("s/one.yaml", ONE_GPU)
    write("s/two.yaml", TWO_GPUS)
    assert main(["run", str(tmp_path / "s"), "--node", "1xH100", "--no-reports"]) == 0
    assert "nothing ran" not in capsys.readouterr().out


def test_nvml_real_without_nvml_stops_before_any_case_naming_the_opt_out(
    write, tmp_path, capsys, no_nvml
) -> None:
    write("s/one.yaml", ONE_GPU)
    assert main(["run", str(tmp_path / "s"), "--nvml", "real", "--reports-dir", str(tmp_path / "r")]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("dp-harness: --nvml real: no usable NVML here: NVMLError_LibraryNotFound")
    assert "--skip-without-nvml" in line and "runtimeClassName: nvidia" in line
    assert "PASS" not in captured.out and "SKIP" not in captured.out
    assert not (tmp_path / "r").exists()


def test_the_opt_out_skips_every_case_with_the_reason_and_still_exits_5(
    write, tmp_path, capsys, no_nvml
) -> None:
    write("s/one.yaml", ONE_GPU)
    argv = ["run", str(tmp_path / "s"), "--nvml", "real", "--skip-without-nvml", "--no-reports"]
    assert main(argv) == 5
    out = capsys.readouterr().out
    assert "SKIP  s/one" in out and "no usable NVML here: NVMLError_LibraryNotFound" in out
    assert out.strip().splitlines()[-1].startswith("nothing ran: the one case was skipped (no usable NVML")


def test_the_opt_out_is_a_switch_of_the_option_table() -> None:
    options = run_options({"nvml": "real", "skip_without_nvml": True})
    assert options.skip_without_nvml is True
    assert rerun_args(options) == ["--nvml", "real", "--skip-without-nvml"]
    assert rerun_args(run_options({"nvml": "real"})) == ["--nvml", "real"]
    with pytest.raises(OptionError, match="--skip-without-nvml applies only with --nvml real"):
        run_options({"skip_without_nvml": True})


def _pytester_run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "harness.pytest_plugin", "-p", "no:cacheprovider", *args)


def test_under_pytest_all_skipped_exits_5_with_the_line_and_a_test_that_ran_keeps_it_0(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nharness_paths = scenarios\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "two.yaml").write_text(TWO_GPUS)
    result = _pytester_run(pytester, "--node", "1xH100")
    assert result.ret == 5
    result.stdout.fnmatch_lines(
        ["nothing ran: the one case was skipped (needs 2 or more GPUs, the node has 1)*"]
    )
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = _pytester_run(pytester, "--node", "1xH100")
    assert result.ret == 0 and "nothing ran" not in result.stdout.str()


def test_under_pytest_nvml_real_without_nvml_is_a_usage_error_unless_opted_out(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nharness_paths = scenarios\n")
    pytester.makeconftest(NO_NVML + "\nimport sys\nsys.modules['pynvml'] = NoLibrary()\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "one.yaml").write_text(ONE_GPU)
    result = _pytester_run(pytester, "--nvml", "real")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --nvml real: no usable NVML here: *--skip-without-nvml*"])
    result = _pytester_run(pytester, "--nvml", "real", "--skip-without-nvml", "-n", "2")
    assert result.ret == 5
    result.assert_outcomes(skipped=1)
    pytester.makefile(
        ".ini", pytest="[pytest]\nharness_paths = scenarios\nharness_skip_without_nvml = true\n"
    )
    assert _pytester_run(pytester, "--nvml", "real").ret == 5
