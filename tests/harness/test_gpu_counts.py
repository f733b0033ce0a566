"""How much of the library a real node runs, measured through the real-mode gate with NVML stubbed,
and checked against what a ``--nvml real`` run over that stubbed NVML does."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.collect import load_all
from harness.gpu_counts import COUNTS, block, count_row, render, stubbed_machine
from harness.launchers.base import simulated_only
from harness.model.scenario import load
from harness.result import Status
from harness.runner import RunOptions, run_scenario

ROOT = Path(__file__).resolve().parents[2]

FOUR = """
description: a case written for 4 GPUs or more
requires: {gpus: 4..}
steps:
  - expect: {registered: true, allocatable: "{gpus}", devices: {count: "{gpus}"}, within: 5s}
"""
CONTAINER = """
description: our image in a container
node: 4xH100
plugin: {image: localhost/gpu-device-plugin:dev}
steps:
  - expect: {registered: true, within: 10s}
"""


@pytest.fixture(scope="module")
def rows():
    loaded = load_all([ROOT / "scenarios"])
    assert not loaded.errors
    return {n: count_row(loaded.scenarios, n) for n in COUNTS}


def test_a_one_gpu_node_runs_at_least_60_percent_of_what_real_gpus_can_run(rows) -> None:
    assert rows[1].share >= 0.6, render(list(rows.values()))


def test_bigger_nodes_run_at_least_as_much(rows) -> None:
    for n in COUNTS[1:]:
        assert rows[n].ran >= rows[1].ran, render(list(rows.values()))


def test_every_case_is_counted_once_as_run_or_skipped(rows) -> None:
    for row in rows.values():
        assert row.ran + sum(row.skipped.values()) == row.cases
        assert sum(f["cases"] for f in row.folders.values()) == row.cases
        assert sum(f["ran"] for f in row.folders.values()) == row.ran


def test_docs_nightly_md_carries_the_current_counts(rows) -> None:
    committed = (ROOT / "docs" / "nightly.md").read_text(encoding="utf-8")
    if block(list(rows.values())) not in committed:
        pytest.fail(
            "docs/nightly.md's GPU counts are stale: "
            "run `python -m harness.gpu_counts --write docs/nightly.md`"
        )


def test_a_case_needing_4_gpus_skips_on_2_and_runs_on_4_through_the_overlay(write) -> None:
    (four,) = load(write("four.yaml", FOUR))
    assert count_row([four], 2).skipped == {"needs 4 or more GPUs, the node has 2": 1}
    assert count_row([four], 4).ran == count_row([four], 8).ran == 1
    # What the gate says is what a run on that machine's (stubbed) pynvml does.
    with stubbed_machine(2):
        skipped = run_scenario(four, RunOptions(nvml="real"))
    assert skipped.status == Status.SKIPPED and skipped.skip_reason == "needs 4 or more GPUs, the node has 2"
    with stubbed_machine(4):
        ran = run_scenario(four, RunOptions(nvml="real"))
    assert ran.status == Status.PASSED, ran.report()
    capacities = [
        e["data"]["capacity"] for e in ran.events if e["source"] == "kubelet" and e["kind"] == "capacity"
    ]
    assert 4 in capacities


def test_the_container_launcher_is_skipped_by_the_gate_on_every_size(write) -> None:
    """It cannot reach the machine's GPUs; the gate says so before setup, as the run would."""
    (container,) = load(write("container.yaml", CONTAINER))
    for n in COUNTS:
        row = count_row([container], n)
        assert row.ran == 0 and row.skipped == {simulated_only("container"): 1}, n
    with stubbed_machine(4):
        result = run_scenario(container, RunOptions(nvml="real"))
    assert result.status == Status.SKIPPED and result.skip_reason == simulated_only("container")


def test_one_gpu_reads_singular_in_a_skip_reason(write) -> None:
    (one,) = load(write("one.yaml", "description: d\nrequires: {gpus: 1..1}\nsteps:\n  - plugin: stop\n"))
    assert count_row([one], 2).skipped == {"needs exactly 1 GPU, the node has 2": 1}


def test_time_slicing_passes_on_the_recorded_h100_vm_as_the_machine() -> None:
    """The VM's GPU has no NUMA node (NotSupported): replicas then carry none, and the case says
    so through {gpu0.numa} (it expected ['None'] and failed on the nightly dry run)."""
    cases = load(ROOT / "scenarios" / "sharing" / "time-slicing-replicas.yaml")
    with stubbed_machine(str(ROOT / "scenarios" / "_nodes" / "h100-80gb-hbm3-vm.yaml")):
        results = [run_scenario(case, RunOptions(nvml="real")) for case in cases]
    assert [r.status for r in results] == [Status.PASSED] * 3, [r.report() for r in results]
