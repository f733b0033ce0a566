"""Runs under a plugin profile, on nodes of any size: what is skipped, what is derived, what is passed on."""

from __future__ import annotations

from harness.model.scenario import load
from harness.runner import RunOptions, run_scenario


def run(write, body: str, node: str = "2xH100", node_override: str | None = None, **options):
    (scenario,) = load(write("s.yaml", f"description: d\nnode: {node}\n" + body))
    return run_scenario(scenario, RunOptions(node=node_override, **options))


XID_LAST = (
    "steps:\n  - expect: {registered: true, allocatable: '{gpus}', within: profile.register}\n"
    "  - inject: {xid: 79, gpu: gpu-1}\n"
    "  - expect:\n      health: {gpu-1: Unhealthy, others: Healthy}\n"
    "      allocatable: '{gpus-1}'\n      within: profile.health\n"
)


def test_a_case_needing_a_feature_the_profile_lacks_is_skipped_with_the_reason(write) -> None:
    result = run(write, "requires: {features: [health-xid]}\n" + XID_LAST, plugin_profile="generic")
    assert (result.status, result.skip_reason) == (
        "skipped",
        "the plugin profile 'generic' does not claim health-xid",
    )
    assert (
        run(write, "requires: {features: [health-xid]}\n" + XID_LAST, plugin_profile="nvidia").status
        == "passed"
    )


def test_a_gated_step_is_skipped_and_reported_while_the_case_goes_on(write) -> None:
    body = (
        "steps:\n  - expect: {registered: true, within: 5s}\n"
        "  - requires: [our-log-lines]\n    expect: {log: 'no such line ever', within: 100ms}\n"
        "  - expect: {allocatable: 2}\n"
    )
    result = run(write, body, plugin_profile="nvidia")
    assert result.status == "passed", result.report()
    assert [s.status for s in result.steps] == ["passed", "skipped", "passed"]
    assert result.steps[1].message == "the plugin profile 'nvidia' does not claim our-log-lines"
    assert run(write, body, plugin_profile="ours").status == "failed"  # ours claims it: the step runs


def test_expectations_derived_from_the_node_hold_on_every_size(write) -> None:
    for size in ("1xH100", "2xH100", "8xH100"):
        result = run(write, XID_LAST, node=size)
        assert result.status == "passed", (size, result.report())


def test_node_option_replaces_the_scenarios_node_unless_it_defines_a_layout(write) -> None:
    result = run(write, XID_LAST + "  - expect: {devices: 8}\n", node="2xH100", node_override="8xH100")
    assert result.status == "passed", result.report()
    mig = "{spec: 2xH100, mig: {gpu0: [3g.40gb]}}"
    skipped = run(write, XID_LAST, node=mig, node_override="8xH100")
    assert skipped.skip_reason == "the scenario defines its own node (a MIG layout); --node does not apply"
    ranged = run(write, "requires: {gpus: 2..4}\n" + XID_LAST, node_override="8xH100")
    assert ranged.skip_reason == "needs 2 to 4 GPUs, the node has 8"


def test_the_resource_defaults_to_the_profiles_and_config_goes_with_its_flag(write, tmp_path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("name: p\nextends: ours\nresource: nvidia.com/gpu.shared\n", encoding="utf-8")
    body = (
        "plugin:\n  config: {version: v1, sharing: {timeSlicing: {renameByDefault: true, "
        "resources: [{name: nvidia.com/gpu, replicas: 2}]}}}\n"
        "steps:\n  - expect: {registered: true, capacity: '{gpus*2}', within: 5s}\n"
        "  - admit: {pod: p1, gpus: 1}\n"
    )
    result = run(write, body, plugin_profile=str(profile))
    assert result.status == "passed", result.report()
    starts = [e for e in result.events if e["kind"] == "setup"]
    assert starts[0]["data"]["profile"] == "p"
    nothing = tmp_path / "none.yaml"
    nothing.write_text("name: none\nextends: generic\n", encoding="utf-8")
    skipped = run(write, body, plugin_profile=str(nothing))
    assert skipped.skip_reason == "the plugin profile 'none' names no config_flag for 'config:'"


def test_a_profile_that_lists_gpus_under_its_own_ids_skips_what_names_them(write, tmp_path) -> None:
    opaque = tmp_path / "o.yaml"
    opaque.write_text(
        "name: o\nextends: ours\ndevice_ids: opaque\ndrop_features: [gpu-ids]\n", encoding="utf-8"
    )
    body = "steps:\n  - expect: {registered: true, within: 5s}\n"
    body += "  - expect: {devices: {ids: {contains: '{gpu0}'}}}\n"
    result = run(write, body, plugin_profile=str(opaque))
    assert result.status == "skipped"
    assert "lists GPUs under IDs of its own" in result.skip_reason


def test_a_bound_of_the_profile_is_the_deadline_of_an_expect(write, tmp_path) -> None:
    slow = tmp_path / "slow.yaml"
    slow.write_text("name: slow\nextends: ours\nbounds: {health: 150ms}\n", encoding="utf-8")
    body = "steps:\n  - expect: {capacity: 99, within: profile.health}\n"
    result = run(write, body, plugin_profile=str(slow))
    assert "not true within 150ms" in result.failure.message


def test_inject_on_all_gpus_and_node_relative_pod_sizes(write) -> None:
    body = (
        "steps:\n  - expect: {allocatable: '{gpus}', within: 5s}\n  - admit: {pod: p1, gpus: '{gpus}'}\n"
        "  - inject: {xid: 79, gpu: all}\n"
        "  - expect: {health: {all: Unhealthy}, allocatable: 0, within: 2s}\n"
        "  - expect: {allocation: {pod: p1, ids: {count: '{gpus}'}}}\n"
    )
    for size in ("1xH100", "4xH100"):
        result = run(write, body, node=size)
        assert result.status == "passed", (size, result.report())


def test_no_plugin_socket_is_left_after_a_clean_stop(write) -> None:
    body = (
        "steps:\n  - expect: {registered: true, plugin_sockets: {count: 1}, within: 5s}\n"
        "  - plugin: stop\n  - expect: {plugin_sockets: [], registered: false, within: 2s}\n"
    )
    assert run(write, body).status == "passed"
    wrong = body.replace("plugin_sockets: []", "plugin_sockets: [nvidia-gpu.sock]").replace("2s", "200ms")
    failed = run(write, wrong)
    assert "plugin sockets []" in failed.failure.observed
