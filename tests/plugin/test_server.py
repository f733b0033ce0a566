"""The per-resource server: full lists on every change, and open streams never starve unary calls."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import grpc
import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target
from plugin import load_config
from plugin.logfmt import EventLogger
from plugin.mig import resources_for_strategy
from plugin.resources import Resource
from plugin.server import MAX_WORKERS, ResourceServer
from tests.plugin.builders import gpu


@pytest.fixture
def server(sockdir: str) -> Iterator[ResourceServer]:
    devices = resources_for_strategy([gpu(0, numa=0), gpu(1, numa=1), gpu(2)], "none", [])["nvidia.com/gpu"]
    config = load_config(["--kubelet-socket", f"{sockdir}/kubelet.sock"], {})
    srv = ResourceServer(Resource("nvidia.com/gpu", tuple(devices)), config, EventLogger())
    srv.start()
    yield srv
    srv.stop()


def stub(srv: ResourceServer) -> tuple[grpc.Channel, api_pb2_grpc.DevicePluginStub]:
    channel = grpc.insecure_channel(unix_target(srv.socket_path))
    return channel, api_pb2_grpc.DevicePluginStub(channel)


def reader(stream: grpc.Future) -> queue.Queue:
    out: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            for response in stream:
                out.put({d.ID: (d.health, [n.ID for n in d.topology.nodes]) for d in response.devices})
        except grpc.RpcError as exc:
            out.put(exc.code())
            return
        out.put("ended")

    threading.Thread(target=run, daemon=True).start()
    return out


def test_list_and_watch_sends_everything_at_once_then_again_on_each_change(server: ResourceServer) -> None:
    channel, plugin = stub(server)
    with channel:
        lists = reader(plugin.ListAndWatch(pb.Empty()))
        first = lists.get(timeout=5)
        assert first == {"GPU-0": ("Healthy", [0]), "GPU-1": ("Healthy", [1]), "GPU-2": ("Healthy", [])}
        server.set_health([server.resource.devices[1]], healthy=False)
        second = lists.get(timeout=5)
        assert second["GPU-1"] == ("Unhealthy", [1]) and second["GPU-0"][0] == "Healthy" and len(second) == 3
        assert server.set_health([server.resource.devices[1]], healthy=False) == []  # no change, no send
        server.set_health([server.resource.devices[1]], healthy=True)
        assert lists.get(timeout=5)["GPU-1"][0] == "Healthy"


def test_stopping_the_server_ends_the_stream_and_removes_the_socket(server: ResourceServer) -> None:
    import os

    channel, plugin = stub(server)
    with channel:
        lists = reader(plugin.ListAndWatch(pb.Empty()))
        lists.get(timeout=5)
        server.stop()
        assert lists.get(timeout=5) in ("ended", grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    assert not os.path.exists(server.socket_path)


def test_many_open_streams_do_not_starve_unary_calls(server: ResourceServer) -> None:
    channel, plugin = stub(server)
    with channel:
        streams = [plugin.ListAndWatch(pb.Empty()) for _ in range(MAX_WORKERS // 2)]
        readers = [reader(s) for s in streams]
        for r in readers:
            r.get(timeout=5)
        options = plugin.GetDevicePluginOptions(pb.Empty(), timeout=5)
        assert options.get_preferred_allocation_available and not options.pre_start_required
        response = plugin.Allocate(
            pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["GPU-2"])]),
            timeout=5,
        )
        assert response.container_responses[0].envs["NVIDIA_VISIBLE_DEVICES"] == "GPU-2"
        assert (
            plugin.PreStartContainer(pb.PreStartContainerRequest(devices_ids=["GPU-2"]), timeout=5)
            == pb.PreStartContainerResponse()
        )
        for s in streams:
            s.cancel()


def test_preferred_allocation_errors_reach_the_kubelet_as_nvidias_message(server: ResourceServer) -> None:
    channel, plugin = stub(server)
    with channel, pytest.raises(grpc.RpcError) as info:
        plugin.GetPreferredAllocation(
            pb.PreferredAllocationRequest(
                container_requests=[
                    pb.ContainerPreferredAllocationRequest(
                        available_deviceIDs=["GPU-0"], must_include_deviceIDs=["GPU-9"], allocation_size=2
                    )
                ]
            ),
            timeout=5,
        )
    # NVIDIA's server.go wraps every allocator error so
    assert (
        info.value.details()
        == "error getting list of preferred allocation devices: invalid request: unknown device: GPU-9"
    )


def test_too_few_whole_gpus_get_an_empty_preferred_answer_not_an_error(server: ResourceServer) -> None:
    channel, plugin = stub(server)
    with channel:
        response = plugin.GetPreferredAllocation(
            pb.PreferredAllocationRequest(
                container_requests=[
                    pb.ContainerPreferredAllocationRequest(available_deviceIDs=["GPU-0"], allocation_size=2)
                ]
            ),
            timeout=5,
        )
    assert [list(r.deviceIDs) for r in response.container_responses] == [[]]


def test_a_socket_path_too_long_for_unix_sockets_is_refused_with_advice(sockdir: str) -> None:
    from plugin.server import ServerStartError

    long_dir = "/tmp/" + "d" * 110
    config = load_config(["--kubelet-socket", f"{sockdir}/kubelet.sock", "--socket-dir", long_dir], {})
    srv = ResourceServer(Resource("nvidia.com/gpu", ()), config, EventLogger())
    with pytest.raises(ServerStartError, match="shorter --socket-dir"):
        srv.start()
