"""What the declared node settles is an error when the file loads, at the place that says it."""

from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.model.scenario import load


def first_line(write, body: str) -> str:
    path = write("s.yaml", "description: d\n" + body)
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value).splitlines()[0].removeprefix(f"{path}:")


def test_a_template_alias_beyond_the_node_is_located_at_its_string(write) -> None:
    line = first_line(write, "node: 4xH100\nsteps:\n  - expect: {devices: {ids: {contains: '{gpu9}'}}}\n")
    assert line == "4:40: gpu9 names GPU 9, but the node has 4 GPUs (gpu0..gpu3), as declared by node: 4xH100"


def test_the_default_node_is_named_as_the_default(write) -> None:
    line = first_line(write, "plugin: {env: {A: '{gpu4.uuid}'}}\nsteps: [{plugin: restart}]\n")
    assert line.endswith("the node has 4 GPUs (gpu0..gpu3), as declared by node: 4xH100 (the default)")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("inject: {gpu_lost: gpu2}", "gpu2 names GPU 2"),
        ("inject: {xid: 79, gpu: 5}", "gpu5 names GPU 5"),
        ("inject: {xid: 79, gpu: gpu0/mig0}", "gpu0/mig0: gpu0 has no MIG devices"),
        ("expect: {health: {gpu3: Unhealthy}}", "gpu3 names GPU 3"),
        ("call: {rpc: Allocate, devices: [gpu1, gpu2]}", "gpu2 names GPU 2"),
        ("admit: {pod: p, gpus: 1, fails: '{gpu7.uuid}'}", "gpu7.uuid names GPU 7"),
    ],
)
def test_bare_and_templated_aliases_are_checked_wherever_a_step_names_a_device(write, step, message) -> None:
    line = first_line(write, f"node: 2xH100\nsteps:\n  - {step}\n")
    assert message in line and "as declared by node: 2xH100" in line


def test_literal_ids_other_fields_and_regexes_are_not_taken_for_aliases(write) -> None:
    path = write(
        "s.yaml",
        "description: d\nnode: 2xH100\nsteps:\n"
        "  - call: {rpc: Allocate, devices: [bogus], error: {regex: 'gpu9{1,2}'}}\n"
        "  - expect: {health: {GPU-1234: Healthy, others: Healthy}, log: 'gpu7'}\n"
        "  - inject: {nvml_error: nvmlDeviceGetCount}\n",
    )
    assert len(load(path)) == 1


def test_mig_aliases_follow_the_declared_layout(write) -> None:
    node = "node: {spec: 2xH100, mig: {gpu0: [3g.40gb, 3g.40gb]}}\n"
    ok = write("ok.yaml", "description: d\n" + node + "steps:\n  - expect: {health: {gpu0/mig1: Healthy}}\n")
    assert len(load(ok)) == 1
    line = first_line(write, node + "steps:\n  - expect: {health: {gpu0/mig2: Healthy}}\n")
    assert line.startswith("4:23: gpu0/mig2: gpu0 has MIG devices mig0..mig1, not mig2")


def test_a_mig_layout_on_a_gpu_the_node_lacks_is_located_at_the_node(write) -> None:
    line = first_line(write, "node: {spec: 2xH100, mig: {gpu3: [3g.40gb]}}\nsteps: [{plugin: restart}]\n")
    assert line.startswith("2:7: cannot set the MIG layout of gpu3: gpu3 names GPU 3")


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("4xH900", "the node 4xH900 cannot be built: node shorthand '4xH900': unknown GPU product 'H900'"),
        ("0xH100", "the node 0xH100 cannot be built: node shorthand '0xH100': a node needs at least one GPU"),
        (
            "{spec: {gpus: []}}",
            "the node (inline profile) cannot be built: profile: gpus: a node profile needs",
        ),
        ("nowhere.yaml", "the node nowhere.yaml cannot be built: node profile"),
    ],
)
def test_a_node_that_cannot_be_built_is_an_error_at_the_node(write, node, message) -> None:
    line = first_line(write, f"node: {node}\nsteps: [{{plugin: restart}}]\n")
    assert line.startswith(f"2:7: {message}"), line


def test_the_node_size_budget_is_checked_before_building_and_raised_by_its_variable(
    write, monkeypatch
) -> None:
    line = first_line(write, "node: 100000xH100\nsteps: [{plugin: restart}]\n")
    assert line == (
        "2:7: node 100000xH100 has 100000 GPUs; the limit is 256 GPUs on a simulated node "
        "(raise it with HARNESS_MAX_NODE_GPUS=N)"
    )
    monkeypatch.setenv("HARNESS_MAX_NODE_GPUS", "2")
    assert first_line(write, "node: 3xH100\nsteps: [{plugin: restart}]\n").startswith(
        "2:7: node 3xH100 has 3 GPUs"
    )
    monkeypatch.setenv("HARNESS_MAX_NODE_GPUS", "300")
    path = write("big.yaml", "description: d\nnode: 300xT4\nsteps: [{plugin: restart}]\n")
    assert len(load(path)) == 1


def test_a_node_profile_file_is_checked_against_the_budget_too(write, monkeypatch) -> None:
    write("node.yaml", "gpus: [{product: H100, count: 8}]\n")
    monkeypatch.setenv("HARNESS_MAX_NODE_GPUS", "4")
    line = first_line(write, "node: node.yaml\nsteps: [{plugin: restart}]\n")
    assert line.startswith("2:7: node node.yaml has 8 GPUs; the limit is 4 GPUs")
