"""The plugin registers each resource with the kubelet, serves it, and rebuilds when asked."""

from __future__ import annotations

import os
import threading

import pytest

from fake_kubelet import Container, FakeKubelet, Pod
from fake_nvml import FakeNVML
from plugin import InitError
from tests.plugin.conftest import LogLines, MakePlugin

GPU = "nvidia.com/gpu"


def uuids(node: FakeNVML) -> list[str]:
    return [g.uuid for g in node.gpus]


def test_registers_nvidia_gpu_through_its_socket_with_every_gpu_healthy(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    make_plugin(node)
    kubelet.wait_for_allocatable(GPU, 4)
    state = kubelet.resource(GPU)
    assert state.endpoint is not None and state.endpoint.endpoint == "nvidia-gpu.sock"
    assert state.endpoint.socket_path == os.path.join(sockdir, "nvidia-gpu.sock")
    assert state.options == {"pre_start_required": False, "get_preferred_allocation_available": True}
    assert sorted(d.id for d in state.devices) == sorted(uuids(node))
    assert {d.id: d.numa for d in state.devices} == {g.uuid: [g.numa_node] for g in node.gpus}
    assert kubelet.violations == []


def test_admitted_pod_gets_nvidia_visible_devices_for_a_topology_close_pair(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    make_plugin(node)
    kubelet.wait_for_allocatable(GPU, 4)
    admission = kubelet.admit(Pod("p", containers=[Container("c", limits={GPU: 2})]))
    assert admission.admitted, admission.message
    [allocation] = admission.allocations
    visible = allocation.response["envs"]["NVIDIA_VISIBLE_DEVICES"]
    assert sorted(visible.split(",")) == sorted(allocation.devices)
    numa = {g.uuid: g.numa_node for g in node.gpus}
    assert len({numa[d] for d in allocation.devices}) == 1


def test_unknown_device_allocation_fails_with_nvidias_message(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    import grpc

    from deviceplugin.v1beta1 import api_pb2 as pb
    from deviceplugin.v1beta1 import api_pb2_grpc, unix_target

    make_plugin(node)
    with grpc.insecure_channel(unix_target(f"{sockdir}/nvidia-gpu.sock")) as channel:
        stub = api_pb2_grpc.DevicePluginStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.Allocate(
                pb.AllocateRequest(
                    container_requests=[pb.ContainerAllocateRequest(devices_ids=["GPU-nope"])]
                ),
                timeout=5,
            )
    assert info.value.code() == grpc.StatusCode.UNKNOWN
    assert info.value.details() == (
        'invalid allocation request for "nvidia.com/gpu": invalid request: unknown device: GPU-nope'
    )


def test_reregisters_on_fresh_sockets_after_a_kubelet_restart(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    manager = make_plugin(node)
    kubelet.wait_for_allocatable(GPU, 4)
    since = kubelet.log.last_seq
    kubelet.restart()
    kubelet.wait_for_registration(GPU, since=since)
    kubelet.wait_for_allocatable(GPU, 4)
    assert manager.generation == 2
    plugin_logs.wait_for("rebuild", reason="kubelet-restart")
    assert kubelet.violations == []
    # The restart is the watcher's rebuild to handle: stream-loss re-registration must not race it.
    rejected = [e for e in kubelet.log.events(kind="register", since=since) if not e.data["accepted"]]
    assert rejected == []


def test_a_rebuild_restores_health_as_nvidias_does(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    manager = make_plugin(node)
    kubelet.wait_for_allocatable(GPU, 4)
    node.inject_xid(2, 79)
    kubelet.wait_for_allocatable(GPU, 3)
    manager.rebuild("sighup")
    kubelet.wait_for_allocatable(GPU, 4)


def test_kubelet_absent_at_start_is_retried_and_registration_follows_its_arrival(
    node: FakeNVML, sockdir: str, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    make_plugin(node, register_backoff_initial_s=0.01, register_backoff_cap_s=0.2)
    failed = plugin_logs.wait_for("registration-failed", resource=GPU)[0]
    assert failed["retry_in"].endswith("s")
    kubelet = FakeKubelet(sockdir)
    try:
        kubelet.start()
        kubelet.wait_for_registration(GPU)
        kubelet.wait_for_allocatable(GPU, 4)
    finally:
        kubelet.close()


def test_stop_removes_the_sockets_and_the_kubelet_sees_the_stream_end(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    manager = make_plugin(node)
    kubelet.wait_for_allocatable(GPU, 4)
    manager.stop()
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
    kubelet.wait_for_allocatable(GPU, 0)
    assert kubelet.capacity(GPU) == 4


def test_nvml_init_failure_is_fatal_with_fail_on_init_error(node: FakeNVML, make_plugin: MakePlugin) -> None:
    node.fail_init("driver_not_loaded")
    with pytest.raises(InitError, match="failed to initialize NVML: Driver Not Loaded"):
        make_plugin(node)


def test_without_fail_on_init_error_it_serves_nothing_until_a_rebuild_succeeds(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    node.fail_init("library_not_found")
    manager = make_plugin(node, "--fail-on-init-error=false")
    plugin_logs.wait_for("init-failed")
    assert manager.resources == []
    node.fail_init(None)
    manager.rebuild("sighup")
    kubelet.wait_for_allocatable(GPU, 4)


def test_time_slicing_serves_replicas_under_the_shared_name(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str
) -> None:
    path = f"{sockdir}/config.yaml"
    with open(path, "w") as handle:
        handle.write(
            "version: v1\nsharing:\n  timeSlicing:\n    renameByDefault: true\n"
            "    resources:\n    - name: nvidia.com/gpu\n      replicas: 3\n"
        )
    make_plugin(node, "--config-file", path)
    kubelet.wait_for_allocatable("nvidia.com/gpu.shared", 12)
    assert kubelet.resource("nvidia.com/gpu.shared").endpoint.endpoint == "nvidia-gpu.shared.sock"


def test_mixed_strategy_serves_one_socket_per_mig_profile(
    kubelet: FakeKubelet, make_plugin: MakePlugin
) -> None:
    node = FakeNVML.from_spec("2xA100-80GB")
    try:
        node.enable_mig(1, ["1g.10gb", "1g.10gb", "3g.40gb"])
        make_plugin(node, "--mig-strategy=mixed")
        kubelet.wait_for_allocatable(GPU, 1)
        kubelet.wait_for_allocatable("nvidia.com/mig-1g.10gb", 2)
        kubelet.wait_for_allocatable("nvidia.com/mig-3g.40gb", 1)
        assert kubelet.resource("nvidia.com/mig-3g.40gb").endpoint.endpoint == "nvidia-mig-3g.40gb.sock"
    finally:
        node.close()


def test_single_strategy_refuses_mixed_mig_types_at_start(make_plugin: MakePlugin) -> None:
    node = FakeNVML.from_spec("1xA100-80GB")
    try:
        node.enable_mig(0, ["1g.10gb", "3g.40gb"])
        with pytest.raises(InitError, match="more than one MIG device type present on node"):
            make_plugin(node, "--mig-strategy=single")
    finally:
        node.close()


def test_registers_again_when_the_kubelet_drops_its_stream_for_an_older_instances_exit(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str, plugin_logs: LogLines
) -> None:
    """Kubelet bug #121994: the old instance's stream end disconnects the newer registration."""
    from tests.fake_kubelet.stub_plugin import StubPlugin

    old = StubPlugin(sockdir, "old-instance.sock", resource=GPU, devices=uuids(node)).start()
    old.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 4)
    make_plugin(node)
    plugin_logs.wait_for("list-and-watch-opened")
    since = kubelet.log.last_seq
    old.stop()  # the kubelet looks its client up by name and disconnects ours
    plugin_logs.wait_for("stream-lost", resource=GPU)
    event = kubelet.wait_for_registration(GPU, since=since)
    assert event.data["endpoint"] == "nvidia-gpu.sock"
    # The kubelet logs the registration before its Register returns: wait for our side too, so
    # the test ends with the kubelet idle (a stop right after it once met a Register mid-way).
    plugin_logs.wait_for("registered", resource=GPU, count=2)
    kubelet.wait_for_allocatable(GPU, 4)
    assert kubelet.resource(GPU).endpoint.endpoint == "nvidia-gpu.sock"


def test_ten_rebuild_requests_in_a_row_end_in_one_consistent_generation(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, sockdir: str, plugin_logs: LogLines
) -> None:
    """A SIGHUP storm (what run() gets from ten signals): the requests that wait become one rebuild,
    and the plugin ends serving one generation, registered once more, with one socket."""
    manager = make_plugin(node, start=False)
    runner = threading.Thread(target=manager.run, name="test-run", daemon=True)
    runner.start()
    kubelet.wait_for_registration(GPU)
    for _ in range(10):
        manager.request_rebuild("sighup")
    # Every request is either a rebuild (logged as it starts) or folded into the one waiting.
    with plugin_logs._cond:
        assert plugin_logs._cond.wait_for(
            lambda: len(plugin_logs.find("rebuild")) + len(plugin_logs.find("rebuild-coalesced")) == 10, 10
        ), plugin_logs.lines
    rebuilds = len(plugin_logs.find("rebuild"))
    plugin_logs.wait_for("discovered", count=1 + rebuilds)
    assert manager.wait_registered({GPU}, timeout=10)
    assert manager.generation == 1 + rebuilds
    kubelet.wait_for_allocatable(GPU, 4)
    assert kubelet.resource(GPU).endpoint.endpoint == "nvidia-gpu.sock"
    assert sorted(n for n in os.listdir(sockdir) if n.endswith(".sock")) == [
        "kubelet.sock",
        "nvidia-gpu.sock",
    ]
    assert kubelet.violations == []
    manager.request_stop("test")
    runner.join(10)
    assert not runner.is_alive()
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
