"""The runner end to end with the real fake node, fake kubelet and our plugin in-process."""

from __future__ import annotations

import os
import sys

import pytest

from harness.launchers import namespace
from harness.model.scenario import load
from harness.requires import NodeFacts
from harness.runner import RunOptions, run_scenario

REGISTERED = "  - expect: {registered: true, allocatable: 2, within: 5s}\n"


MIG_NODE = "{spec: 2xA100-40GB, mig: {gpu1: [3g.20gb, 3g.20gb]}}"


def run(write, body: str, name: str = "s.yaml", node: str = "2xH100", **options):
    path = write(name, f"description: d\nnode: {node}\n" + body)
    (scenario,) = load(path)
    return run_scenario(scenario, RunOptions(**options))


def test_a_passing_scenario_records_steps_events_and_overhead(write) -> None:
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - inject: {xid: 79, gpu: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy, others: Healthy}, allocatable: 1, within: 2s}\n",
    )
    assert result.status == "passed", result.report()
    assert [s.status for s in result.steps] == ["passed"] * 3
    kinds = {(e["source"], e["kind"]) for e in result.events}
    assert {("kubelet", "register"), ("node", "xid"), ("plugin", "log"), ("harness", "step")} <= kinds
    assert 0 < result.overhead_s < 5


def test_a_wrong_expectation_fails_with_step_expectation_observation_and_events(write) -> None:
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - inject: {xid: 79, gpu: gpu1}\n"
        "  - expect: {health: {gpu0: Unhealthy}, within: 300ms}\n",
    )
    assert result.status == "failed"
    report = result.report()
    assert "step 3 (expect): health gpu0 Unhealthy (within 300ms)" in report
    assert "s.yaml:6:5" in report
    assert "expectation not true within 300ms" in report
    assert "expected: health: gpu0 Unhealthy" in report
    assert "observed: health: gpu0 (GPU-" in report and "is Healthy" in report
    assert "last events" in report and "node     xid" in report


def test_a_call_that_answers_differently_says_what_was_expected_with_its_templates_resolved(write) -> None:
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - call: {rpc: Allocate, devices: [gpu1],"
        " expect: {envs: {NVIDIA_VISIBLE_DEVICES: '{gpu0.uuid}'}}}\n",
    )
    assert result.status == "failed"
    assert result.failure is not None and "Allocate answered differently" in result.failure.message
    gpu0 = next(g["uuid"] for g in result.gpus if g["alias"] == "gpu0")
    assert gpu0 in result.failure.expectation and "{gpu0.uuid}" not in result.failure.expectation


def test_teardown_removes_the_socket_dir_even_when_a_step_fails(write) -> None:
    result = run(write, "steps:\n  - expect: {capacity: 9, within: 100ms}\n")
    assert result.status == "failed"
    setup = next(e for e in result.events if e["kind"] == "setup")
    assert not os.path.exists(setup["data"]["tmp"])


def test_a_never_condition_fails_the_step_during_which_it_held(write) -> None:
    result = run(
        write,
        "never:\n  - health: {gpu1: Unhealthy}\nsteps:\n"
        + REGISTERED
        + "  - inject: {xid: 79, gpu: gpu1}\n  - expect: {allocatable: 1, within: 2s}\n",
    )
    assert result.status == "failed"
    assert "a 'never' condition held" in result.failure.message
    assert "gpu1 Unhealthy" in result.failure.expectation


def test_virtual_time_runs_the_grace_period_in_well_under_a_second(write) -> None:
    result = run(
        write,
        # The grace period starts when the kubelet sees the stream end: wait for that, then jump.
        "steps:\n" + REGISTERED + "  - plugin: stop\n  - expect: {allocatable: 0, within: 2s}\n"
        "  - advance: 5m\n  - expect: {capacity: 0, within: 1s}\n",
    )
    assert result.status == "passed", result.report()
    assert result.run_s < 3


def test_admission_failures_match_the_kubelets_message(write) -> None:
    result = run(
        write,
        "steps:\n"
        + REGISTERED
        + "  - admit: {pod: big, gpus: 3, fails: {regex: 'Requested: 3, Available: 2'}}\n",
    )
    assert result.status == "passed", result.report()


def test_the_namespace_launcher_skips_with_the_reason_when_unavailable(write, monkeypatch) -> None:
    monkeypatch.setattr(namespace, "namespace_support", lambda: "a private mount namespace needs root")
    result = run(write, "plugin: {launcher: namespace, command: 'true'}\nsteps:\n  - plugin: stop\n")
    assert result.status == "skipped"
    assert "needs root" in result.skip_reason


def test_real_mode_skips_scenarios_needing_the_simulation(write, monkeypatch) -> None:
    from harness import realnode

    monkeypatch.setattr(realnode, "machine_facts", lambda: NodeFacts(8, real=True))
    result = run(write, "steps:\n  - inject: {gpu_lost: gpu0}\n", nvml="real")
    assert result.status == "skipped"
    assert result.skip_reason == "needs a fault only the simulated node can make (gpu_lost)"


def test_real_mode_skips_a_case_whose_gpu_range_excludes_the_machine(write, monkeypatch) -> None:
    from harness import realnode

    monkeypatch.setattr(realnode, "machine_facts", lambda: NodeFacts(8, real=True))
    result = run(write, "requires: {gpus: 2..4}\nsteps:\n" + REGISTERED, nvml="real")
    assert result.status == "skipped"
    assert result.skip_reason == "needs 2 to 4 GPUs, the node has 8"


def test_real_mode_runs_on_the_machines_nvml_with_injected_xids_overlaid(write, monkeypatch) -> None:
    """The machine's NVML is stood in for by a simulated node posing as the pynvml module."""
    import sys

    from fake_nvml import FakeNVML
    from harness import realnode

    machine_nvml = FakeNVML.from_spec("2xH100", seed=7)
    monkeypatch.setitem(sys.modules, "pynvml", machine_nvml)
    monkeypatch.setattr(realnode, "machine_facts", lambda: NodeFacts(2, real=True))
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - inject: {xid: 79, gpu: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy, gpu0: Healthy}, within: 2s}\n",
        nvml="real",
    )
    assert result.status == "passed", result.report()
    assert result.gpus[1]["uuid"] == machine_nvml.gpus[1].uuid
    assert any(e["kind"] == "xid" and e["data"].get("overlay") for e in result.events)


def test_a_node_mig_layout_names_gpus_by_alias(write) -> None:
    result = run(
        write,
        "plugin: {args: [--mig-strategy, mixed]}\n"
        "steps:\n  - expect: {registered: {resource: nvidia.com/mig-3g.20gb}, within: 5s}\n",
        node=MIG_NODE,
    )
    assert result.status == "passed", result.report()


def test_a_plugin_process_finds_the_harnesss_python_first_on_path(write) -> None:
    stub = write("stub.py", "import os, sys\nprint('exe=' + sys.executable)\n")
    result = run(
        write,
        "plugin: {command: 'python {scenario_dir}/stub.py'}\nsteps:\n  - expect: {log: 'exe=', within: 5s}\n",
    )
    assert result.status == "passed", result.report()
    lines = [e["data"]["line"] for e in result.events if e["kind"] == "log"]
    line = next(x for x in lines if x.startswith("exe="))
    assert os.path.dirname(line.removeprefix("exe=")) == os.path.dirname(sys.executable)
    assert stub.parent.is_dir()


def test_a_plugin_command_line_uses_the_same_templates_as_the_rest_of_the_scenario(write) -> None:
    result = run(
        write,
        'plugin: {command: \'python -c "import sys; print(sys.argv[1:])" {gpu1.uuid} "{socket_dir}"\'}\n'
        'steps:\n  - expect: {log: "GPU-", within: 5s}\n',
    )
    assert result.status == "passed", result.report()
    (start,) = [e for e in result.events if e["source"] == "plugin" and e["kind"] == "start"]
    argv = start["data"]["argv"]
    assert argv[-2].startswith("GPU-") and argv[-1].endswith("/dp")


def test_a_scenario_with_its_own_plugin_command_is_skipped_under_plugin_cmd(write) -> None:
    result = run(
        write,
        "plugin: {command: 'python -c pass'}\nsteps:\n  - expect: {registered: true, within: 1s}\n",
        plugin_cmd="python -m plugin --nvml {nvml}",
    )
    assert result.status == "skipped"
    assert "runs its own plugin" in result.skip_reason


@pytest.mark.parametrize("own", ["image: localhost/gpu-device-plugin:dev", "manifest: m.yaml"])
def test_a_scenario_with_its_own_image_or_manifest_is_skipped_under_plugin_cmd(write, own) -> None:
    # the command used to replace the case's container (container/image-lifecycle then failed on
    # what only the container launcher logs)
    result = run(
        write,
        f"plugin: {{{own}}}\nsteps:\n  - expect: {{registered: true, within: 1s}}\n",
        plugin_cmd="python -m plugin --nvml {nvml}",
    )
    assert result.status == "skipped"
    assert "runs its own plugin image" in result.skip_reason


def test_a_gpu_alias_in_health_covers_that_gpus_mig_devices(write) -> None:
    result = run(
        write,
        "plugin: {args: [--mig-strategy, mixed]}\nresource: nvidia.com/mig-3g.20gb\n"
        "steps:\n  - expect: {allocatable: 2, within: 5s}\n"
        "  - inject: {xid: 79, gpu: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy}, within: 2s}\n",
        node=MIG_NODE,
    )
    assert result.status == "passed", result.report()


def test_allocation_reads_what_the_kubelet_holds_now_not_the_admission_record(write) -> None:
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - admit: {pod: p1, gpus: 1}\n"
        "  - expect: {allocation: {pod: p1, ids: {count: 1}}}\n"
        "  - delete: p1\n"
        "  - expect: {allocation: {pod: p1}, within: 200ms}\n",
    )
    assert result.status == "failed"
    report = result.report()
    assert "failed at step 5 (expect)" in report
    assert "has no nvidia.com/gpu allocation" in report


def test_kubelet_start_on_a_running_kubelet_is_an_error_in_the_scenarios_words(write) -> None:
    result = run(write, "steps:\n" + REGISTERED + "  - kubelet: start\n")
    assert result.status == "error"
    report = result.report()
    assert "at step 2 (kubelet): kubelet start" in report
    assert "the kubelet is already running, so 'kubelet: start' cannot start it" in report
    assert "fix: use 'kubelet: restart'" in report
    assert "Traceback" not in report and "stop() it first" not in report


def test_stopping_a_stopped_kubelet_and_deleting_an_unknown_pod_say_what_to_do(write) -> None:
    stopped = run(write, "kubelet: {start: false}\nsteps:\n  - kubelet: stop\n")
    assert stopped.status == "error" and "fix: start it first ('kubelet: start')" in stopped.report()
    unknown = run(write, "steps:\n" + REGISTERED + "  - delete: p9\n")
    assert unknown.status == "error"
    assert "no pod 'p9' was admitted" in unknown.report() and "fix: admit it first" in unknown.report()
    twice = run(
        write, "steps:\n" + REGISTERED + "  - admit: {pod: p1, gpus: 1}\n  - admit: {pod: p1, gpus: 1}\n"
    )
    assert twice.status == "error" and "fix: delete it first ('delete: p1')" in twice.report()


def test_a_never_condition_that_raises_is_an_error_not_a_pass(write, monkeypatch) -> None:
    from dataclasses import dataclass

    from harness.model import registry
    from harness.model.base import Condition

    registry.load_all()

    @dataclass
    class Broken(Condition):
        def evaluate(self, ctx):
            raise TypeError("unsupported operand")

    Broken.key = "broken"
    monkeypatch.setitem(registry.CONDITIONS, "broken", Broken)
    result = run(write, "never:\n  - {broken: {}}\nsteps:\n" + REGISTERED)
    assert result.status == "error"
    assert (
        "the 'never' condition at" in result.report()
        and "raised TypeError: unsupported operand" in result.report()
    )


def test_a_never_condition_that_could_never_be_checked_is_an_error(write) -> None:
    result = run(write, "never:\n  - {health: {'{allocated.p9.main}': Unhealthy}}\nsteps:\n" + REGISTERED)
    assert result.status == "error"
    assert "could not be checked at any time during the scenario" in result.report()
    assert "no pod 'p9' was admitted" in result.report()


def test_a_never_condition_that_cannot_be_checked_yet_waits_for_its_pod(write) -> None:
    result = run(
        write,
        "never:\n  - {health: {'{allocated.p1.main}': Unhealthy}}\nsteps:\n"
        + REGISTERED
        + "  - admit: {pod: p1, gpus: 1}\n  - expect: {allocatable: 2}\n",
    )
    assert result.status == "passed", result.report()


def test_health_all_and_others_do_not_hold_on_an_empty_device_list(write) -> None:
    # After a kubelet restart with the plugin stopped the resource is known but lists no device:
    # "every device is Healthy" must not pass before a device arrived.
    for key in ("all", "others"):
        result = run(
            write,
            "steps:\n" + REGISTERED + "  - plugin: stop\n  - kubelet: restart\n"
            f"  - expect: {{health: {{{key}: Healthy}}, within: 200ms}}\n",
        )
        assert result.status == "failed", result.report()
        assert f"'{key}' names no device: nvidia.com/gpu lists none" in result.failure.observed
