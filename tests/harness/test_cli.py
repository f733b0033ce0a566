from __future__ import annotations

import xml.etree.ElementTree as ET

from harness.cli import main

OK = "description: registers\nnode: 2xH100\ntags: [reg]\nsteps:\n  - expect: {registered: true, within: 5s}\n"
XID = (
    "description: xid\nnode: 2xH100\nsteps:\n  - expect: {registered: true, within: 5s}\n"
    "  - inject: {xid: 79, gpu: gpu0}\n  - expect: {health: {gpu0: Unhealthy}, within: 2s}\n"
)


def test_run_prints_a_summary_and_writes_every_report(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/xid.yaml", XID)
    reports = tmp_path / "reports"
    assert main(["run", str(tmp_path / "s"), "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "PASS    ok" in out and "PASS    xid" in out and "2 passed" in out
    assert f"reports: {reports / 'index.html'}" in out
    suite = ET.parse(reports / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")
    assert len(list((reports / "allure-results").glob("*-result.json"))) == 2


def test_run_selects_with_k_and_fails_with_exit_1(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/bad.yaml", OK.replace("registered: true", "capacity: 7").replace("5s", "200ms"))
    assert main(["run", str(tmp_path / "s"), "-k", "ok and reg", "--no-reports"]) == 0
    assert "1 passed" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "s"), "--no-reports"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "observed: capacity: nvidia.com/gpu capacity" in captured.err


def test_run_in_parallel_processes(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/xid.yaml", XID)
    assert main(["run", str(tmp_path / "s"), "-n", "2", "--reports-dir", str(tmp_path / "r")]) == 0
    assert "2 passed" in capsys.readouterr().out


def test_validate_reports_each_invalid_file_and_exits_2(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    write("s/bad.yaml", "description: d\nsteps:\n  - kubelet: reboot\n")
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


def test_an_empty_reports_dir_writes_nothing_and_deletes_nothing(
    write, tmp_path, capsys, monkeypatch
) -> None:
    write("s/ok.yaml", OK)
    keep = tmp_path / "precious"
    keep.mkdir()
    (keep / "source.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "s", "--reports-dir", ""]) == 0
    assert (keep / "source.py").exists()
    assert not (tmp_path / "index.html").exists()


def test_a_rerun_clears_only_the_case_folders_an_earlier_run_wrote(write, tmp_path, capsys) -> None:
    write("s/ok.yaml", OK)
    reports = tmp_path / "reports"
    stale = reports / "old-case"
    stale.mkdir(parents=True)
    (stale / "result.json").write_text("{}")
    mine = reports / "notes"
    mine.mkdir()
    (mine / "result.json").write_text("{}")
    (mine / "todo.txt").write_text("not the harness's")
    assert main(["run", str(tmp_path / "s"), "--reports-dir", str(reports)]) == 0
    assert not stale.exists()
    assert (mine / "todo.txt").exists()
