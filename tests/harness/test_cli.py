"""dp-harness as a user runs it: one line per case, failures in full with a rerun line, a folder per run."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.cli import main

OK = "description: registers\nnode: 2xH100\ntags: [reg]\nsteps:\n  - expect: {registered: true, within: 5s}\n"
XID = (
    "description: xid\nnode: 2xH100\nsteps:\n  - expect: {registered: true, within: 5s}\n"
    "  - inject: {xid: 79, gpu: gpu0}\n  - expect: {health: {gpu0: Unhealthy}, within: 2s}\n"
)
# A line of gRPC's C core, in its glog format: "I1202 08:05:00.433104   27690 chttp2_transport.cc:1403] ...".
C_CORE_LINE = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \w+\.cc:\d+\]", re.M)
BAD = OK.replace("registered: true", "capacity: 7").replace("5s", "200ms")


def runs(reports: Path) -> list[Path]:
    return sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())


def test_run_prints_each_case_once_then_a_summary_and_writes_this_runs_reports(
    write, tmp_path, capsys
) -> None:
    write("s/ok.yaml", OK)
    write("s/xid.yaml", XID)
    reports = tmp_path / "reports"
    assert main(["run", str(tmp_path / "s"), "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert out.count("s/ok ") == 1 and out.count("s/xid ") == 1
    assert "PASS  s/ok" in out and "2 passed in" in out
    (run,) = runs(reports)
    assert (reports / "latest").resolve() == run.resolve()
    assert f"reports: {run / 'index.html'}" in out
    suite = ET.parse(run / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    assert len(list((run / "allure-results").glob("*-result.json"))) == 2


def test_a_failure_is_printed_once_in_full_on_stdout_and_ends_with_its_rerun_command(
    write, tmp_path, capsys
) -> None:
    write("s/ok.yaml", OK)
    write("s/bad.yaml", BAD)
    assert main(["run", str(tmp_path / "s"), "--no-reports", "--nvml", "sim"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "observed: capacity: nvidia.com/gpu capacity" in out
    assert out.count("expectation not true within 200ms") == 2  # the case's line, and the failure in full
    assert "observed" not in captured.err
    rerun = next(line for line in out.splitlines() if line.startswith("rerun: "))
    argv = shlex.split(rerun.removeprefix("rerun: "))
    assert argv[argv.index("run") + 1 :] == [f"{tmp_path / 's' / 'bad.yaml'}::bad"]
    # The rerun command runs that case alone.
    assert main([*argv[argv.index("run") :], "--no-reports"]) == 1
    out = capsys.readouterr().out
    assert "1 cases from 1 scenario files" in out and "1 failed" in out


def test_run_selects_with_k(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/bad.yaml", BAD)
    assert main(["run", str(tmp_path / "s"), "-k", "ok and reg", "--no-reports"]) == 0
    assert "1 passed" in capsys.readouterr().out


def test_a_selection_of_nothing_runs_nothing_deletes_nothing_and_exits_5(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    reports = tmp_path / "reports"
    assert main(["run", str(tmp_path / "s"), "--reports-dir", str(reports)]) == 0
    (first,) = runs(reports)
    assert main(["run", str(tmp_path / "s"), "-k", "nomatch", "--reports-dir", str(reports)]) == 5
    assert "no cases match -k 'nomatch'" in capsys.readouterr().out
    assert runs(reports) == [first] and (first / "index.html").exists()
    assert (reports / "latest").resolve() == first.resolve()


def test_each_run_gets_its_own_folder_and_latest_follows(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    reports = tmp_path / "reports"
    for _ in range(2):
        assert main(["run", str(tmp_path / "s"), "--reports-dir", str(reports), "--report", "html"]) == 0
    first, second = runs(reports)
    assert (first / "index.html").exists() and (second / "index.html").exists()
    assert (reports / "latest").resolve() == second.resolve()
    assert not (second / "junit.xml").exists()


def test_run_in_parallel_processes_and_with_n_auto(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/xid.yaml", XID)
    assert main(["run", str(tmp_path / "s"), "-n", "2", "--no-reports"]) == 0
    assert "2 passed" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "s"), "-n", "auto", "--no-reports"]) == 0
    assert "2 passed" in capsys.readouterr().out


def test_bad_flags_are_one_line_and_exit_2(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    assert main(["run", str(tmp_path / "s"), "--plugin-cmd", "p --gpu {gpu0.uid}"]) == 2
    assert main(["run", str(tmp_path / "s"), "--launcher", "warp"]) == 2
    assert main(["run", str(tmp_path / "s"), "--report", "pdf", "--reports-dir", str(tmp_path / "r")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("dp-harness: --") for line in lines[:2])
    assert "did you mean 'uuid'" in lines[0]
    assert "choose one of inprocess, subprocess, namespace" in lines[1]
    assert "no reporter 'pdf'" in lines[2]
    assert not (tmp_path / "r").exists() or not runs(tmp_path / "r")


def test_validate_reports_each_invalid_file_and_exits_2(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/bad.yaml", "description: d\nsteps:\n  - kubelet: pause\n")
    assert main(["validate", str(tmp_path / "s")]) == 2
    captured = capsys.readouterr()
    assert "bad.yaml:3:14:" in captured.err
    assert "1 scenario files valid (1 cases), 1 invalid" in captured.out


def test_show_prints_steps_and_a_text_timeline(write, capsys) -> None:
    path = write("xid.yaml", XID)
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PASS  step 2 (inject): XID 79 on gpu0" in out
    assert "gpu0" in out and "░" in out and "xid 79 gpu0" in out


def test_an_empty_reports_dir_writes_nothing(write, tmp_path, capsys, monkeypatch) -> None:
    write("s/ok.yaml", OK)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "s", "--reports-dir", ""]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_grpcs_own_log_stays_off_the_console_unless_asked_for() -> None:
    """Plugin connections going away print 'chttp2_transport ... Got goaway' lines from gRPC's C core."""

    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "harness", "run", str(root / "scenarios" / "kubelet"), "--no-reports"]
    env = {k: v for k, v in __import__("os").environ.items() if k != "GRPC_VERBOSITY"}
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)
    loud = subprocess.run(
        [*argv, "--grpc-log"], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert "chttp2" not in quiet.stdout + quiet.stderr
    assert not C_CORE_LINE.search(quiet.stdout + quiet.stderr)
    assert "chttp2" in loud.stderr  # the same run shows them when asked (so the check above can fail)


def test_with_the_plugin_as_a_process_grpcs_log_stays_off_too_and_each_case_is_listed_once(
    tmp_path,
) -> None:
    """The plugin process inherits the quiet setting; what it writes is its log, not the console."""
    root = Path(__file__).resolve().parents[2]
    files = ["restart-reregisters.yaml", "plugin-restart-replaces-endpoint.yaml", "stop-then-start.yaml"]
    plugin = "{python} -m plugin --nvml {nvml} --socket-dir {socket_dir} --kubelet-socket {kubelet_socket}"
    argv = [sys.executable, "-m", "harness", "run", *(str(root / "scenarios" / "kubelet" / f) for f in files)]
    argv += ["--plugin-cmd", plugin, "--plugin-profile", "ours", "--reports-dir", str(tmp_path / "r")]
    env = {k: v for k, v in __import__("os").environ.items() if k != "GRPC_VERBOSITY"}
    quiet = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert quiet.returncode == 0, quiet.stdout[-2000:]
    assert "chttp2" not in quiet.stdout + quiet.stderr
    assert not C_CORE_LINE.search(quiet.stdout + quiet.stderr)
    cases = [line.split()[1] for line in quiet.stdout.splitlines() if line.startswith(("PASS ", "FAIL "))]
    assert sorted(cases) == sorted(set(cases)) and len(cases) == 4  # one file has two matrix cases
    events = [p.read_text() for p in (tmp_path / "r" / "latest").glob("*/events.json")]
    assert len(events) == 4 and not any("chttp2" in e for e in events)
    loud = subprocess.run(
        [*argv, "--grpc-log"], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    # The same run shows C-core lines when asked (so the checks above can fail). Which ones comes
    # with timing (a GOAWAY's chttp2 line or not); the INFO-level warning of log.cc always does.
    assert C_CORE_LINE.search(loud.stderr), loud.stderr[-2000:]
