"""What a case needs of the node and the plugin: GPU ranges, and the one gate that decides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import UNKNOWN, ScenarioError
from harness.loader import YNode
from harness.model.scenario import load
from harness.profiles import load_profile
from harness.requires import GpuRange, NodeFacts, needs_simulation, spec_facts, unmet


def parse(value: object) -> GpuRange:
    return GpuRange.from_yaml(YNode(value, UNKNOWN))


def test_a_number_means_at_least_and_a_range_bounds_both_ends() -> None:
    assert parse(2) == GpuRange(2, None) == parse("2..")
    assert parse("1..4") == GpuRange(1, 4)
    assert 1 in parse("1..4") and 4 in parse("1..4") and 5 not in parse("1..4")
    assert 8 in parse(2) and 1 not in parse(2)
    assert parse("4..4").words() == "exactly 4" and parse(2).words() == "2 or more"


@pytest.mark.parametrize("bad", ["4..2", "two", "..4", True, -1, "1..2..3"])
def test_a_bad_range_is_an_error_that_says_what_to_write(bad: object) -> None:
    with pytest.raises(ScenarioError, match="GPU count range"):
        parse(bad)


@given(st.integers(0, 64), st.one_of(st.none(), st.integers(0, 64)))
def test_a_range_reads_back_as_itself(low: int, high: int | None) -> None:
    if high is not None and high < low:
        return
    assert parse(str(GpuRange(low, high))) == GpuRange(low, high)


def case(write, body: str):
    (scenario,) = load(write("s.yaml", "description: d\nnode: 4xH100\n" + body))
    return scenario


def test_on_a_real_node_the_gate_names_the_first_thing_missing(write) -> None:
    nvidia = load_profile("nvidia")
    one = NodeFacts(1, real=True)
    xid = "steps:\n  - inject: {xid: 79, gpu: gpu0}\n"
    assert (
        unmet(case(write, "requires: {gpus: 2..}\n" + xid), one, nvidia)
        == "needs 2 or more GPUs, the node has 1"
    )
    assert unmet(case(write, xid), one, nvidia) == ""
    assert unmet(case(write, xid), one, nvidia, plugin_process=True).startswith(
        "injected faults cannot reach"
    )
    lost = case(write, "steps:\n  - inject: {gpu_lost: gpu0}\n")
    assert unmet(lost, one, nvidia) == "needs a fault only the simulated node can make (gpu_lost)"
    assert needs_simulation(lost) and not needs_simulation(case(write, xid))
    needs_ours = case(write, "requires: {features: [cdi, our-log-lines, our-exit-codes]}\n" + xid)
    assert (
        unmet(needs_ours, one, nvidia)
        == "the plugin profile 'nvidia' does not claim our-log-lines; also our-exit-codes"
    )


def test_a_simulated_node_is_probed_as_a_real_one_is() -> None:
    assert spec_facts("2xT4") == NodeFacts(2, mig=False, nvlink=False, real=False)
    assert spec_facts({"gpus": [{"product": "H100", "count": 2, "mig": ["3g.40gb"]}]}).mig
    assert spec_facts("3xNoSuchGPU") is None


def test_an_unknown_feature_in_a_scenario_is_a_located_error(write) -> None:
    with pytest.raises(ScenarioError) as info:
        case(write, "requires: {features: [heath-xid]}\nsteps:\n  - plugin: stop\n")
    assert "s.yaml:3:23: unknown feature 'heath-xid'" in str(info.value)
    assert "did you mean 'health-xid'" in str(info.value)
