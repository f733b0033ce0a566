"""--nvml real end to end, with a simulated node standing in for the machine's pynvml: injected
faults stay overlays on "real" NVML, and every report marks them as simulated."""

from __future__ import annotations

import textwrap

from harness.gpu_counts import stubbed_machine
from harness.model.scenario import load
from harness.reports.allure import details
from harness.reports.text import render_text
from harness.reports.timeline import build_timeline
from harness.result import Status
from harness.runner import RunOptions, run_scenario

XID = """
description: a fatal XID on the last GPU
requires: {gpus: 2..}
node: 2xH100
steps:
  - expect: {registered: true, allocatable: "{gpus}", within: 5s}
  - inject: {xid: 79, gpu: gpu-1}
  - expect: {health: {gpu-1: Unhealthy, others: Healthy}, within: 2s}
"""


def _run(tmp_path, nvml: str, gpus: int = 4):
    path = tmp_path / "xid.yaml"
    path.write_text(textwrap.dedent(XID).lstrip())
    (scenario,) = load(path)
    with stubbed_machine(gpus):
        return run_scenario(scenario, RunOptions(nvml=nvml))


def test_on_real_nvml_an_injected_xid_is_an_overlay_and_reports_say_simulated(tmp_path) -> None:
    result = _run(tmp_path, "real")
    assert result.status == Status.PASSED, result.report()
    (xid,) = [e for e in result.events if e["source"] == "node" and e["kind"] == "xid"]
    assert xid["data"]["overlay"] is True and xid["data"]["gpu"] == 3  # gpu-1 of the machine's 4
    marks = [m.label for m in build_timeline(result.events, result.gpus, result.steps).marks]
    assert "xid 79 gpu3 (simulated)" in marks
    info = details(result)
    assert ("tag", "simulated-fault") in info.labels
    assert "injected faults are simulated" in info.description and "XID 79 on gpu3" in info.description
    assert "(simulated)" in render_text(build_timeline(result.events, result.gpus, result.steps))


def test_on_the_simulated_node_faults_are_not_marked(tmp_path) -> None:
    result = _run(tmp_path, "sim")
    assert result.status == Status.PASSED, result.report()
    marks = [m.label for m in build_timeline(result.events, result.gpus, result.steps).marks]
    assert "xid 79 gpu1" in marks and not any("simulated" in m for m in marks)
    assert ("tag", "simulated-fault") not in details(result).labels
