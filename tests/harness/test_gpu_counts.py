"""How much of the library a real node runs, measured through the real-mode gate with NVML stubbed."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.collect import load_all
from harness.gpu_counts import COUNTS, count_row, render

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_gate_skips_by_gpu_count_on_a_stubbed_machine(write) -> None:
    from harness.model.scenario import load

    (two,) = load(write("two.yaml", "description: d\nrequires: {gpus: 2..}\nsteps:\n  - plugin: stop\n"))
    assert count_row([two], 1).skipped == {"needs 2 or more GPUs, the node has 1": 1}
    assert count_row([two], 2).ran == 1
