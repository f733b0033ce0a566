"""The podresources API v1 over gRPC: List, GetAllocatableResources and Get, as agents read them."""

from __future__ import annotations

import threading

import grpc
import pytest

from deviceplugin.podresources.v1 import api_pb2 as pr
from deviceplugin.podresources.v1 import api_pb2_grpc
from deviceplugin.v1beta1 import unix_target
from fake_kubelet import Container, Pod
from tests.fake_kubelet.stub_plugin import allocate_ok, device

GPU = "example.com/gpu"


@pytest.fixture
def lister(make_kubelet, make_plugin, sockdir):
    """A kubelet serving podresources, a stub plugin with devices on NUMA 0 and 1, and a client."""

    def make(**kwargs):
        kubelet = make_kubelet(podresources_socket=f"{sockdir}/pr/kubelet.sock", **kwargs)
        plugin = make_plugin(devices=[device("a", numa=[0]), device("b", numa=[1]), device("c")])
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_allocatable(GPU, 3)
        channel = grpc.insecure_channel(unix_target(kubelet.podresources_socket))
        channels.append(channel)
        return kubelet, plugin, api_pb2_grpc.PodResourcesListerStub(channel)

    channels: list[grpc.Channel] = []
    yield make
    for channel in channels:
        channel.close()


def devices_of(response, pod: str, container: str) -> list[tuple[str, list[str], list[int]]]:
    (found,) = [p for p in response.pod_resources if p.name == pod]
    (ctr,) = [c for c in found.containers if c.name == container]
    return [(d.resource_name, list(d.device_ids), [n.ID for n in d.topology.nodes]) for d in ctr.devices]


def test_list_shows_each_active_pods_devices_with_their_numa_node(lister):
    kubelet, _, client = lister()
    kubelet.admit(Pod("p", [Container("app", {GPU: 2})]))
    response = client.List(pr.ListPodResourcesRequest(), timeout=5)
    assert [(p.name, p.namespace) for p in response.pod_resources] == [("p", "default")]
    held = kubelet.allocations("p")[0].devices
    expected = {"a": [0], "b": [1], "c": []}
    assert devices_of(response, "p", "app") == [(GPU, [d], expected[d]) for d in sorted(held)]


def test_list_leaves_out_regular_init_containers_and_pods_that_ended_or_were_deleted(lister):
    kubelet, _, client = lister()
    pod = Pod(
        "p",
        [Container("app", {GPU: 1})],
        init_containers=[Container("init", {GPU: 1}), Container("side", {GPU: 1}, restartable=True)],
    )
    kubelet.admit(pod)
    kubelet.admit(Pod("done", [Container("app", {GPU: 1})]))
    kubelet.complete_pod("done")
    response = client.List(pr.ListPodResourcesRequest(), timeout=5)
    assert [p.name for p in response.pod_resources] == ["p"]
    assert [c.name for c in response.pod_resources[0].containers] == ["side", "app"]
    kubelet.delete_pod("p")
    assert list(client.List(pr.ListPodResourcesRequest(), timeout=5).pod_resources) == []


def test_a_device_whose_allocate_is_in_flight_is_not_listed_yet(lister):
    kubelet, plugin, client = lister()
    entered, release = threading.Event(), threading.Event()

    def slow(request, context):
        entered.set()
        release.wait(5)
        return allocate_ok(request, context)

    plugin.allocate_handler = slow
    pending = kubelet.admit_async(Pod("p", [Container("app", {GPU: 1})]))
    assert entered.wait(5)
    during = client.List(pr.ListPodResourcesRequest(), timeout=5)
    release.set()
    assert pending.result(5).admitted
    assert [c.devices for c in during.pod_resources[0].containers] == [[]]
    after = client.List(pr.ListPodResourcesRequest(), timeout=5)
    assert len(devices_of(after, "p", "app")) == 1


def test_allocatable_lists_the_healthy_devices_with_their_topology(lister):
    kubelet, plugin, client = lister()
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))  # allocated devices stay allocatable
    plugin.set_devices([device("a", numa=[0]), device("b", numa=[1], health="Unhealthy"), device("c")])
    kubelet.wait_for_allocatable(GPU, 2)
    response = client.GetAllocatableResources(pr.AllocatableResourcesRequest(), timeout=5)
    assert [
        (d.resource_name, list(d.device_ids), [n.ID for n in d.topology.nodes]) for d in response.devices
    ] == [
        (GPU, ["a"], [0]),
        (GPU, ["c"], []),
    ]
    assert list(response.cpu_ids) == []


def test_get_is_refused_before_its_feature_gate_is_on_by_default(lister):
    _, _, client = lister(version="1.33")
    with pytest.raises(grpc.RpcError) as off:
        client.Get(pr.GetPodResourcesRequest(pod_name="p", pod_namespace="default"), timeout=5)
    assert off.value.details() == "PodResources API Get method disabled"


def test_get_answers_for_one_pod_and_names_a_missing_one(lister):
    kubelet, _, client = lister(version="1.34")
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    got = client.Get(pr.GetPodResourcesRequest(pod_name="p", pod_namespace="default"), timeout=5)
    assert got.pod_resources.name == "p" and len(got.pod_resources.containers[0].devices) == 1
    with pytest.raises(grpc.RpcError) as missing:
        client.Get(pr.GetPodResourcesRequest(pod_name="q", pod_namespace="default"), timeout=5)
    assert missing.value.details() == "pod q in namespace default not found"


def test_the_socket_goes_with_the_kubelet_and_comes_back_with_it(lister):
    kubelet, _, client = lister()
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    kubelet.stop()
    with pytest.raises(grpc.RpcError):
        client.List(pr.ListPodResourcesRequest(), timeout=1)
    kubelet.start()
    response = client.List(pr.ListPodResourcesRequest(), timeout=5, wait_for_ready=True)
    assert len(devices_of(response, "p", "app")) == 1  # restored from the checkpoint


def test_allocatable_lists_the_healthy_devices_of_every_resource(lister, make_plugin):
    """manager_test.go TestGetAllocatableDevicesMultipleResources: one answer covers every resource."""
    kubelet, _, client = lister()
    nic = make_plugin("nic.sock", "example.org/nic", [device("n1"), device("n2", health="Unhealthy")])
    nic.register(kubelet.socket_path)
    kubelet.wait_for_capacity("example.org/nic", 2)
    response = client.GetAllocatableResources(pr.AllocatableResourcesRequest(), timeout=5)
    assert sorted((d.resource_name, list(d.device_ids)) for d in response.devices) == [
        (GPU, ["a"]),
        (GPU, ["b"]),
        (GPU, ["c"]),
        ("example.org/nic", ["n1"]),
    ]
