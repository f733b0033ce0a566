"""Health follows NVIDIA's rules, fixes #1929 (all replicas of a GPU), and recovers only when asked."""

from __future__ import annotations

import threading

from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML
from tests.plugin.conftest import LogLines, MakePlugin

GPU = "nvidia.com/gpu"


def health(kubelet: FakeKubelet, resource: str = GPU) -> dict[str, str]:
    return {d.id: d.health for d in kubelet.resource(resource).devices}


def unhealthy(kubelet: FakeKubelet, resource: str = GPU) -> set[str]:
    return {i for i, h in health(kubelet, resource).items() if h != "Healthy"}


def start(
    node: FakeNVML,
    kubelet: FakeKubelet,
    make_plugin: MakePlugin,
    *argv: str,
    n: int = 4,
    resource: str = GPU,
    **kw: object,
) -> None:
    make_plugin(node, *argv, **kw)
    kubelet.wait_for_allocatable(resource, n)


def test_a_critical_xid_marks_its_gpu_unhealthy_and_logs_the_xid(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin)
    node.inject_xid(1, 79)
    kubelet.wait_for_allocatable(GPU, 3)
    assert unhealthy(kubelet) == {node.gpus[1].uuid}
    plugin_logs.wait_for("device-unhealthy", device=node.gpus[1].uuid, xid=79, reason="xid")


def test_application_xids_are_ignored(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin)
    for xid in (13, 31, 43, 45, 68, 109):
        node.inject_xid(0, xid)
    plugin_logs.wait_for("xid-ignored", count=6)
    node.inject_xid(3, 48)  # a later critical XID proves the ignored ones were handled first
    kubelet.wait_for_allocatable(GPU, 3)
    assert unhealthy(kubelet) == {node.gpus[3].uuid}


def test_enable_healthchecks_makes_an_application_xid_critical(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    start(node, kubelet, make_plugin, env={"DP_ENABLE_HEALTHCHECKS": "13"})
    node.inject_xid(2, 13)
    kubelet.wait_for_allocatable(GPU, 3)


def test_disable_healthchecks_number_ignores_that_xid(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin, env={"DP_DISABLE_HEALTHCHECKS": "79"})
    node.inject_xid(2, 79)
    plugin_logs.wait_for("xid-ignored", xid=79)
    assert kubelet.allocatable(GPU) == 4


def test_disable_healthchecks_all_registers_no_events(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin, env={"DP_DISABLE_HEALTHCHECKS": "all"})
    plugin_logs.wait_for("health-checks-disabled")
    assert node.inject_xid(0, 79) == 0  # delivered to no event set
    assert kubelet.allocatable(GPU) == 4


def test_ecc_events_are_logged_and_skipped_as_nvidia_does(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin)
    node.inject_ecc(0, double_bit=True)
    node.inject_ecc(0)
    plugin_logs.wait_for("health-event-skipped", count=2)
    assert kubelet.allocatable(GPU) == 4


def test_an_xid_marks_every_replica_of_the_gpu_unhealthy(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    path = f"{sockdir}/ts.yaml"
    with open(path, "w") as handle:
        handle.write("sharing:\n  timeSlicing:\n    resources:\n    - {name: nvidia.com/gpu, replicas: 4}\n")
    start(node, kubelet, make_plugin, "--config-file", path, n=16)
    node.inject_xid(2, 94)
    kubelet.wait_for_allocatable(GPU, 12)
    assert unhealthy(kubelet) == {f"{node.gpus[2].uuid}::{n}" for n in range(4)}


def test_mig_xids_match_gpu_and_compute_instance(kubelet: FakeKubelet, make_plugin: MakePlugin) -> None:
    node = FakeNVML.from_spec("1xA100-80GB")
    try:
        node.enable_mig(0, ["1g.10gb", "1g.10gb", "1g.10gb"])
        migs = node.gpus[0].mig_devices
        start(node, kubelet, make_plugin, "--mig-strategy=mixed", n=3, resource="nvidia.com/mig-1g.10gb")
        node.inject_xid(0, 48, gi=migs[1].gi, ci=migs[1].ci)
        kubelet.wait_for_allocatable("nvidia.com/mig-1g.10gb", 2)
        assert unhealthy(kubelet, "nvidia.com/mig-1g.10gb") == {migs[1].uuid}
        node.inject_xid(0, 48)  # not attributable to an instance: every MIG device of the GPU
        kubelet.wait_for_allocatable("nvidia.com/mig-1g.10gb", 0)
    finally:
        node.close()


def test_a_lost_gpu_makes_every_device_unhealthy_as_nvidia_does(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin)
    node.lose_gpu(1)
    kubelet.wait_for_allocatable(GPU, 0)
    plugin_logs.wait_for("health-wait-error")


def test_register_events_not_supported_is_a_warning_and_the_gpu_stays_healthy(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    node.unsupported_events(3)
    start(node, kubelet, make_plugin)
    plugin_logs.wait_for("health-events-unsupported", gpu=node.gpus[3].uuid)
    assert node.inject_xid(3, 79) == 0
    assert kubelet.allocatable(GPU) == 4


def test_a_failing_health_query_at_start_marks_that_gpu_unhealthy(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    node.fail_calls("nvmlDeviceGetSupportedEventTypes", count=1)
    make_plugin(node)
    kubelet.wait_for_capacity(GPU, 4)
    kubelet.wait_for_allocatable(GPU, 3)
    assert unhealthy(kubelet) == {node.gpus[0].uuid}


def test_stop_does_not_wait_for_the_thread_blocked_in_nvml(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    manager = make_plugin(node, health_wait_ms=60_000)
    kubelet.wait_for_allocatable(GPU, 4)
    waiting = [t for t in threading.enumerate() if t.name == "plugin-health"]
    manager.stop()
    assert any(t.is_alive() for t in waiting)  # still in nvmlEventSetWait, not joined


# -- recovery (ours; opt-in) -----------------------------------------------------------------
def test_without_recovery_a_recovered_gpu_stays_unhealthy(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    start(node, kubelet, make_plugin)
    node.inject_xid(1, 79)
    kubelet.wait_for_allocatable(GPU, 3)
    node.recover_gpu(1)
    node.inject_xid(2, 79)  # handled after the recovery
    kubelet.wait_for_allocatable(GPU, 2)
    assert unhealthy(kubelet) == {node.gpus[1].uuid, node.gpus[2].uuid}


def test_recovery_brings_back_the_other_gpus_then_the_lost_one_after_recover_gpu(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin, "--health-recovery", recovery_probe_interval_s=0.02, recovery_probes=3)
    node.lose_gpu(1)
    kubelet.wait_for_allocatable(GPU, 0)
    kubelet.wait_for_allocatable(GPU, 3)
    assert unhealthy(kubelet) == {node.gpus[1].uuid}
    node.recover_gpu(1)
    kubelet.wait_for_allocatable(GPU, 4)
    plugin_logs.wait_for("device-healthy", device=node.gpus[1].uuid, reason="recovered")


def test_recovery_keeps_an_xid_gpu_unhealthy_until_nvml_shows_an_outage_and_its_end(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    start(node, kubelet, make_plugin, "--health-recovery", recovery_probe_interval_s=0.02, recovery_probes=2)
    node.inject_xid(1, 48)
    kubelet.wait_for_allocatable(GPU, 3)
    node.lose_gpu(2)
    kubelet.wait_for_allocatable(GPU, 0)
    plugin_logs.wait_for("health-wait-error", count=1)
    node.recover_gpu(2)
    kubelet.wait_for_allocatable(GPU, 3)  # GPU 2 (and 0, 3) came back; the XID GPU did not
    assert unhealthy(kubelet) == {node.gpus[1].uuid}
    node.lose_gpu(1)  # a reset: NVML loses the GPU ...
    plugin_logs.wait_for("health-wait-error", count=2)  # ... the plugin sees it ...
    node.recover_gpu(1)  # ... and it answers again
    kubelet.wait_for_allocatable(GPU, 4)
