"""The nightly run of one node, the smoke check, and the merge of many nodes into one report.

A simulated node stands in for the machine's pynvml (as harness.gpu_counts measures the gate), so
the real-NVML path runs here end to end: recording, overlays, reports, the merged fleet report.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pynvml
import pytest
import yaml

from fake_nvml import FakeNVML
from harness import realnode
from harness.cli import main
from harness.gpu_counts import stubbed_machine
from harness.nightly.merge import merge
from harness.nightly.preflight import passed, run_checks
from harness.nightly.run import nightly

ROOT = Path(__file__).resolve().parents[2]
XID = (
    "description: a fatal XID on the last GPU\nrequires: {gpus: 1..}\nnode: 2xH100\ntags: [health]\n"
    "steps:\n  - expect: {registered: true, allocatable: '{gpus}', within: 5s}\n"
    "  - inject: {xid: 79, gpu: gpu-1}\n  - expect: {health: {gpu-1: Unhealthy}, within: 2s}\n"
)
TWO = (
    "description: two GPUs\nrequires: {gpus: 2..}\nnode: 2xH100\n"
    "steps:\n  - expect: {registered: true, allocatable: '{gpus}', within: 5s}\n"
)


class NoLibrary:
    def __getattr__(self, name: str) -> object:
        return getattr(pynvml, name)

    def nvmlInit(self) -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)


@pytest.fixture
def library(write, tmp_path) -> Path:
    write("lib/health/xid.yaml", XID)
    write("lib/counts/two.yaml", TWO)
    return tmp_path / "lib"


@pytest.fixture
def no_nvml(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", NoLibrary())
    realnode.machine_facts.cache_clear()
    yield
    realnode.machine_facts.cache_clear()


def test_the_smoke_check_passes_here_except_for_nvml_which_it_names_with_the_fix(no_nvml, tmp_path) -> None:
    checks = run_checks(ROOT / "scenarios", tmp_path / "results")
    failed = [c for c in checks if not c.ok and c.required]
    assert [c.name for c in failed] == ["nvml"]
    assert "runtimeClassName: nvidia" in failed[0].detail and "--skip-without-nvml" in failed[0].detail
    assert passed(run_checks(ROOT / "scenarios", None, nvml_required=False))
    library = next(c for c in checks if c.name == "scenario library")
    assert library.ok and "cases in" in library.detail


def test_the_smoke_check_fails_on_a_library_that_does_not_load(write, tmp_path) -> None:
    write("bad/x.yaml", "description: x\nsteps:\n  - expect: {registred: true}\n")
    (check,) = [
        c for c in run_checks(tmp_path / "bad", None, nvml_required=False) if c.name == "scenario library"
    ]
    assert not check.ok and "1 files do not load" in check.detail


def test_a_nodes_nightly_writes_its_run_its_recording_and_a_summary(library, tmp_path, capsys) -> None:
    results = tmp_path / "results"
    with stubbed_machine(2):
        assert nightly(results, library, node="gpu-a") == 0
    run = (results / "gpu-a" / "latest").resolve()
    summary = json.loads((run / "nightly.json").read_text())
    assert (summary["node"], summary["exit"], summary["status"]) == ("gpu-a", 0, "passed")
    assert summary["counts"] == {"passed": 2} and summary["gpus"] == ["NVIDIA H100 80GB HBM3"] * 2
    assert len(FakeNVML.from_spec(run / "node-profile.yaml").gpus) == 2  # CI replays it with --node
    assert "ok    nvml" in (run / "preflight.txt").read_text()
    assert (run / "junit.xml").is_file() and list((run / "allure-results").glob("*-result.json"))
    assert "nightly on gpu-a: passed (exit 0)" in capsys.readouterr().out


def test_a_node_without_nvml_stops_in_the_smoke_check_and_says_so_in_its_folder(
    library, tmp_path, no_nvml
) -> None:
    results = tmp_path / "results"
    assert nightly(results, library, node="gpu-b") == 2
    run = (results / "gpu-b" / "latest").resolve()
    assert json.loads((run / "nightly.json").read_text())["status"] == "stopped by the smoke check"
    assert "FAIL  nvml" in (run / "preflight.txt").read_text()
    assert not (run / "junit.xml").exists()
    assert nightly(results, library, node="gpu-b", skip_without_nvml=True) == 5  # nothing ran


def test_the_merge_makes_each_case_of_each_node_its_own_test(library, tmp_path, no_nvml, capsys) -> None:
    results = tmp_path / "results"
    with stubbed_machine(2):
        assert nightly(results, library, node="gpu-a") == 0
    with stubbed_machine(1):
        assert nightly(results, library, node="gpu-b") == 0  # the two-GPU case skips there
    assert nightly(results, library, node="gpu-c") == 2  # no NVML
    code, folder, runs = merge(results, results / "_fleet")
    assert code == 1 and folder is not None  # gpu-c's run did not pass
    assert [r.node for r in runs] == ["gpu-a", "gpu-b", "gpu-c"]
    cases = [json.loads(p.read_text()) for p in (folder / "allure-results").glob("*-result.json")]
    xid = {
        next(lb["value"] for lb in c["labels"] if lb["name"] == "parentSuite"): c
        for c in cases
        if c["name"] == "xid"
    }
    assert set(xid) == {"gpu-a", "gpu-b"}
    assert xid["gpu-a"]["historyId"] != xid["gpu-b"]["historyId"]
    assert xid["gpu-a"]["testCaseId"] == xid["gpu-b"]["testCaseId"]
    assert {"name": "node", "value": "'gpu-a'"} in xid["gpu-a"]["parameters"]
    for case in cases:  # every attachment a case names was carried over
        for attachment in case["attachments"]:
            assert (folder / "allure-results" / attachment["source"]).is_file()
    suites = ET.parse(folder / "junit.xml").getroot()
    assert [s.get("hostname") for s in suites] == ["gpu-a", "gpu-b"]
    assert sorted(p.name for p in (folder / "nodes").iterdir()) == ["gpu-a.yaml", "gpu-b.yaml"]
    summary = (folder / "summary.md").read_text()
    assert "| gpu-c | stopped by the smoke check (exit 2) | no cases | no NVML |" in summary
    assert "| gpu-a | passed (exit 0) | 2 passed" in summary
    env = (folder / "allure-results" / "environment.properties").read_text()
    assert "node.gpu-a=2 GPU(s) NVIDIA H100 80GB HBM3" in env
    # Tomorrow: the same ids again, so allure's history follows each case on each node.
    with stubbed_machine(2):
        nightly(results, library, node="gpu-a")
    _, again, _ = merge(results, results / "_fleet")
    assert again is not None and again != folder
    ids = {json.loads(p.read_text())["historyId"] for p in (again / "allure-results").glob("*-result.json")}
    assert xid["gpu-a"]["historyId"] in ids


def test_the_merge_command_on_a_folder_without_nodes_exits_5(tmp_path, capsys) -> None:
    (tmp_path / "results").mkdir()
    assert main(["nightly", "merge", str(tmp_path / "results")]) == 5
    assert "no node folders" in capsys.readouterr().out


def test_jobs_prints_one_pinned_job_per_named_node(tmp_path, capsys) -> None:
    names = tmp_path / "nodes.txt"
    names.write_text("node/gpu-a\nnode/gpu-b\n")
    assert (
        main(["nightly", "jobs", str(ROOT / "deploy" / "nightly-fleet.yaml"), "--nodes-from", str(names)])
        == 0
    )
    jobs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [j["metadata"]["name"] for j in jobs] == [
        "gpu-plugin-conformance-fleet-gpu-a",
        "gpu-plugin-conformance-fleet-gpu-b",
    ]
    assert main(["nightly", "jobs", str(ROOT / "deploy" / "nightly-fleet.yaml")]) == 2
    assert "name the nodes" in capsys.readouterr().err
