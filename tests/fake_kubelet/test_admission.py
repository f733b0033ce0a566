"""Pod admission as the kubelet's device manager does it, messages included."""

from __future__ import annotations

import grpc

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Container, Pod
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def pod(name: str, *apps: int, init: tuple[int, ...] = (), sidecars: tuple[int, ...] = ()) -> Pod:
    return Pod(
        name,
        containers=[Container(f"app{i}", {GPU: n}) for i, n in enumerate(apps)],
        init_containers=[Container(f"init{i}", {GPU: n}) for i, n in enumerate(init)]
        + [Container(f"side{i}", {GPU: n}, restartable=True) for i, n in enumerate(sidecars)],
    )


def allocate_requests(plugin) -> list[list[str]]:
    requests = plugin.requests("Allocate")
    assert all(len(r.container_requests) == 1 for r in requests), "one container per Allocate call"
    return [sorted(r.container_requests[0].devices_ids) for r in requests]


def test_admission_allocates_one_container_per_call_and_caches_the_response(registered, kubelet):
    plugin = registered(devices=["a", "b", "c"])
    admission = kubelet.admit(pod("p", 2, 1))
    assert admission.admitted and admission.reason is None
    assert allocate_requests(plugin) == [["a", "b"], ["c"]]
    assert admission.devices("app0", GPU) == ["a", "b"]
    assert admission.allocations[0].response["envs"] == {"STUB_VISIBLE_DEVICES": "a,b"}
    event = kubelet.log.events(kind="allocate")[0]
    assert event.data["response"]["devices"][0] == {
        "container_path": "/dev/stub0",
        "host_path": "/dev/stub0",
        "permissions": "rw",
    }
    assert kubelet.allocated_devices(GPU) == {"a", "b", "c"}
    assert kubelet.allocatable(GPU) == 3  # node allocatable does not subtract allocations


def test_preferred_allocation_is_asked_only_when_the_plugin_offers_it(registered, kubelet):
    plain = registered("plain.sock", resource="example.com/plain", devices=["a", "b"])
    kubelet.admit(Pod("p1", [Container("c", {"example.com/plain": 1})]))
    assert plain.count("GetPreferredAllocation") == 0

    preferring = registered(devices=["a", "b", "c", "d"], preferred=True)
    preferring.preferred_handler = lambda req, ctx: pb.PreferredAllocationResponse(
        container_responses=[pb.ContainerPreferredAllocationResponse(deviceIDs=["d", "b"])]
    )
    admission = kubelet.admit(pod("p2", 2))
    (request,) = preferring.requests("GetPreferredAllocation")
    (creq,) = request.container_requests
    assert (sorted(creq.available_deviceIDs), list(creq.must_include_deviceIDs), creq.allocation_size) == (
        ["a", "b", "c", "d"],
        [],
        2,
    )
    assert sorted(admission.devices("app0", GPU)) == ["b", "d"]
    event = kubelet.log.events(kind="preferred_allocation")[-1]
    assert event.data["response"] == ["d", "b"] and event.data["size"] == 2


def test_too_few_free_devices_fail_admission_with_the_kubelets_message(registered, kubelet):
    registered(devices=["a", "b"])
    admission = kubelet.admit(pod("p", 3))
    assert not admission.admitted
    assert admission.reason == "UnexpectedAdmissionError"
    assert admission.message == (
        "Allocate failed due to requested number of devices unavailable for example.com/gpu. "
        "Requested: 3, Available: 2, which is unexpected"
    )
    assert kubelet.log.events(kind="admit")[-1].data["reason"] == "UnexpectedAdmissionError"


def test_a_plugin_error_fails_admission_and_frees_what_the_pod_had_taken(registered, kubelet):
    plugin = registered(devices=["a", "b"])
    calls = []

    def fail_second(request, context):
        calls.append(request)
        if len(calls) == 2:
            context.abort(grpc.StatusCode.UNKNOWN, "boom")
        return pb.AllocateResponse(container_responses=[pb.ContainerAllocateResponse()])

    plugin.allocate_handler = fail_second
    admission = kubelet.admit(pod("p", 1, 1))
    assert (
        admission.message
        == "Allocate failed due to rpc error: code = Unknown desc = boom, which is unexpected"
    )
    assert kubelet.allocated_devices(GPU) == set()
    assert kubelet.pods() == []


def test_an_empty_allocate_response_is_an_error(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.allocate_handler = lambda req, ctx: pb.AllocateResponse()
    admission = kubelet.admit(pod("p", 1))
    assert admission.message.startswith("Allocate failed due to no containers return in allocation response")
    assert [v.rule for v in kubelet.violations] == ["response_count"]


def test_no_healthy_devices_fail_admission(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.set_devices([device("a", "Unhealthy")])
    kubelet.wait_for_allocatable(GPU, 0)
    admission = kubelet.admit(pod("p", 1))
    assert admission.message == (
        "Allocate failed due to no healthy devices present; cannot allocate unhealthy devices "
        "example.com/gpu, which is unexpected"
    )
    assert plugin.count("Allocate") == 0


def test_a_stopped_endpoint_rejects_allocate(registered, kubelet):
    old = registered("old.sock", devices=["a"])
    new = registered("new.sock", devices=["a"])
    new.stop()  # the kubelet stops the endpoint of new.sock
    kubelet.wait_for_allocatable(GPU, 0)
    old.set_devices(["a"])  # the old stream is still read: devices healthy again, endpoint still stopped
    kubelet.wait_for_allocatable(GPU, 1)
    admission = kubelet.admit(pod("p", 1))
    assert admission.message == (
        f"Allocate failed due to endpoint example.com/gpu ({new.socket_path}) has been stopped, "
        "which is unexpected"
    )
    assert old.count("Allocate") == 0


def test_deleting_a_pod_frees_its_devices(registered, kubelet):
    registered(devices=["a", "b"])
    assert kubelet.admit(pod("first", 2)).admitted
    assert not kubelet.admit(pod("second", 1)).admitted
    kubelet.delete_pod("first")
    assert kubelet.admit(pod("second", 1)).admitted
    assert [e.data["pod"] for e in kubelet.log.events(kind="pod_deleted")] == ["first"]


def test_init_container_devices_are_reused_by_app_containers(registered, kubelet):
    plugin = registered(devices=["a", "b", "c"], preferred=True)
    admission = kubelet.admit(pod("p", 2, init=(1,)))
    init_devices = admission.devices("init0", GPU)
    app_devices = admission.devices("app0", GPU)
    assert set(init_devices) <= set(app_devices)
    (request,) = plugin.requests("GetPreferredAllocation")[-1:]
    creq = request.container_requests[0]
    assert list(creq.must_include_deviceIDs) == init_devices  # reused devices must be included
    assert creq.allocation_size == 2  # the full container request, not the remainder
    assert set(init_devices) <= set(creq.available_deviceIDs)


def test_a_pod_needs_the_larger_of_its_largest_init_container_and_its_app_containers(registered, kubelet):
    registered(devices=["a", "b"])
    admission = kubelet.admit(pod("p", 1, 1, init=(2,)))
    assert admission.admitted, admission.message
    assert sorted(admission.devices("app0", GPU) + admission.devices("app1", GPU)) == ["a", "b"]
    assert kubelet.allocated_devices(GPU) == {"a", "b"}


def test_sidecar_init_containers_keep_their_devices(registered, kubelet):
    registered(devices=["a", "b"])
    admission = kubelet.admit(pod("p", 1, sidecars=(1,)))
    assert admission.admitted
    assert admission.devices("side0", GPU) != admission.devices("app0", GPU)
    assert not kubelet.admit(pod("q", 1, sidecars=(1,))).admitted


def test_a_resource_the_node_never_reported_is_not_checked(kubelet):
    admission = kubelet.admit(Pod("p", [Container("c", {"example.com/unknown": 1})]))
    assert admission.admitted and admission.allocations == []


def test_a_removed_resource_rejects_pods_as_out_of_it(registered, kubelet, clock):
    plugin = registered(devices=["a"])
    plugin.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    clock.advance(300)
    admission = kubelet.admit(pod("p", 1))
    assert (admission.reason, admission.message) == (
        "OutOfexample.com/gpu",
        "Node didn't have enough resource: example.com/gpu, requested: 1, used: 0, capacity: 0",
    )


def test_re_admitting_a_pod_with_a_changed_request_fails(registered, kubelet):
    registered(devices=["a", "b"])
    first = pod("p", 1)
    assert kubelet.admit(first).admitted
    changed = Pod("p", [Container("app0", {GPU: 2})])
    admission = kubelet.admit(changed)
    assert (
        f'pod "{first.uid}" container "app0" changed request for resource "example.com/gpu" from 1 to 2'
        in (admission.message)
    )
