"""Admission with a TopologyManager: hints from NUMA, aligned allocation, GetPreferredAllocation's
arguments (upstream topology_hints_test.go) and TopologyAffinityError."""

from __future__ import annotations

import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Container, Pod
from fake_kubelet.allocator import DeviceAllocator
from fake_kubelet.numa import TopologyHint
from fake_kubelet.pod_devices import Allocation, PodDevices
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def numa_devices(layout: dict[int, list[str]]) -> list[pb.Device]:
    return [device(d, numa=[node]) for node, ids in layout.items() for d in ids]


def answering(*choices: list[str]):
    """A GetPreferredAllocation handler giving these answers in turn (then the must-include devices)."""
    answers = list(choices)

    def handler(request, context):
        creq = request.container_requests[0]
        ids = answers.pop(0) if answers else list(creq.must_include_deviceIDs)
        return pb.PreferredAllocationResponse(
            container_responses=[pb.ContainerPreferredAllocationResponse(deviceIDs=ids)]
        )

    return handler


def preferred_calls(plugin) -> list[tuple[list[str], list[str], int]]:
    return [
        (
            sorted(r.container_requests[0].available_deviceIDs),
            sorted(r.container_requests[0].must_include_deviceIDs),
            r.container_requests[0].allocation_size,
        )
        for r in plugin.requests("GetPreferredAllocation")
    ]


@pytest.fixture
def aligned(make_kubelet, make_plugin):
    """A kubelet with a TopologyManager policy, and a stub plugin with devices on NUMA nodes."""

    def make(layout, policy="best-effort", scope="container", **kwargs):
        kubelet = make_kubelet(topology_policy=policy, topology_scope=scope, numa_nodes=[0, 1], **kwargs)
        plugin = make_plugin(devices=numa_devices(layout), preferred=True)
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_allocatable(GPU, sum(len(v) for v in layout.values()))
        return kubelet, plugin

    return make


def test_a_request_that_fits_one_node_is_aligned_there_and_the_plugin_chooses_among_that_nodes_devices(
    aligned,
):
    # TestGetPreferredAllocationParameters "Request for 1, socket 0, 0 already allocated, 0 reusable".
    kubelet, plugin = aligned({0: ["Dev0", "Dev1", "Dev2", "Dev3"]})
    admission = kubelet.admit(Pod("p", [Container("c", {GPU: 1})]))
    assert admission.admitted, admission.message
    assert kubelet.topology_hint("p", "c") == TopologyHint(frozenset({0}), True)
    assert preferred_calls(plugin) == [(["Dev0", "Dev1", "Dev2", "Dev3"], [], 1)]


def test_reused_init_container_devices_are_must_include_and_the_size_is_the_full_request(aligned):
    # "Request for 4, socket 0, 2 already allocated, 2 reusable": the init container got Dev0, Dev5.
    kubelet, plugin = aligned({0: [f"Dev{i}" for i in range(8)]})
    plugin.preferred_handler = answering(["Dev0", "Dev5"])
    pod = Pod("p", [Container("app", {GPU: 4})], init_containers=[Container("init", {GPU: 2})])
    assert kubelet.admit(pod).admitted
    assert preferred_calls(plugin)[1] == ([f"Dev{i}" for i in range(8)], ["Dev0", "Dev5"], 4)


def test_devices_of_other_pods_are_not_offered_but_reused_ones_are(aligned):
    # "Request for 4, socket 0, 4 already allocated, 2 reusable": another pod holds Dev1 and Dev4.
    kubelet, plugin = aligned({0: [f"Dev{i}" for i in range(8)]})
    plugin.preferred_handler = answering(["Dev1", "Dev4"], ["Dev0", "Dev5"])
    assert kubelet.admit(Pod("other", [Container("c", {GPU: 2})])).admitted
    pod = Pod("p", [Container("app", {GPU: 4})], init_containers=[Container("init", {GPU: 2})])
    assert kubelet.admit(pod).admitted
    assert preferred_calls(plugin)[2] == (
        ["Dev0", "Dev2", "Dev3", "Dev5", "Dev6", "Dev7"],
        ["Dev0", "Dev5"],
        4,
    )


def test_exactly_enough_aligned_devices_are_taken_without_asking_the_plugin(aligned):
    kubelet, plugin = aligned({0: ["Dev0", "Dev1"], 1: ["Dev2", "Dev3"]})
    admission = kubelet.admit(Pod("p", [Container("c", {GPU: 2})]))
    assert admission.devices("c", GPU) == ["Dev0", "Dev1"]
    assert plugin.count("GetPreferredAllocation") == 0


def test_a_need_that_spans_nodes_takes_the_hint_nodes_first_under_best_effort(aligned):
    # TestTopologyAlignedAllocation "Request for 4, unsatisfiable, prefer socket 0" (3 on node 0).
    kubelet, plugin = aligned({0: ["Dev1", "Dev3", "Dev5"], 1: ["Dev2", "Dev4", "Dev6"]})
    plugin.preferred = False
    admission = kubelet.admit(Pod("p", [Container("c", {GPU: 4})]))
    assert admission.admitted
    assert kubelet.topology_hint("p", "c") == TopologyHint(frozenset({0, 1}), True)
    assert len(admission.devices("c", GPU)) == 4


@pytest.mark.parametrize("policy", ["restricted", "single-numa-node"])
def test_restricted_policies_reject_a_pod_they_cannot_align_with_topology_affinity_error(aligned, policy):
    kubelet, plugin = aligned({0: ["Dev0"], 1: ["Dev1"]}, policy=policy)
    assert kubelet.admit(Pod("one", [Container("c", {GPU: 1})])).admitted
    admission = kubelet.admit(Pod("two", [Container("c", {GPU: 2})]))
    if policy == "restricted":
        # One device left: no hint can cover two, so the merge is not preferred.
        assert (admission.reason, admission.message) == (
            "TopologyAffinityError",
            "Resources cannot be allocated with Topology locality",
        )
    else:
        assert admission.reason == "TopologyAffinityError"
    assert plugin.count("Allocate") == 1
    assert kubelet.allocated_devices(GPU) == set(kubelet.allocations("one")[0].devices)


def test_single_numa_node_rejects_a_request_only_two_nodes_can_hold(aligned):
    kubelet, plugin = aligned({0: ["Dev0", "Dev1"], 1: ["Dev2", "Dev3"]}, policy="single-numa-node")
    admission = kubelet.admit(Pod("p", [Container("c", {GPU: 3})]))
    assert admission.reason == "TopologyAffinityError"
    assert plugin.count("Allocate") == 0


def test_cpus_and_devices_are_aligned_to_one_node_when_both_fit_there(aligned):
    kubelet, _ = aligned({0: ["Dev0"], 1: ["Dev1", "Dev2"]}, policy="restricted", cpus_per_numa={0: 2, 1: 8})
    admission = kubelet.admit(Pod("p", [Container("c", {GPU: 1, "cpu": 4})]))
    assert admission.admitted
    assert kubelet.topology_hint("p", "c") == TopologyHint(frozenset({1}), True)
    assert admission.devices("c", GPU)[0] in {"Dev1", "Dev2"}
    # Node 1 has 4 CPUs left: another 4-CPU, 1-GPU container still fits there, a 6-CPU one nowhere.
    assert kubelet.admit(Pod("q", [Container("c", {GPU: 1, "cpu": 4})])).admitted
    assert kubelet.admit(Pod("r", [Container("c", {GPU: 1, "cpu": 6})])).reason == "TopologyAffinityError"


def test_pod_scope_aligns_all_containers_of_a_pod_to_one_hint(aligned):
    kubelet, _ = aligned({0: ["Dev0", "Dev1"], 1: ["Dev2", "Dev3"]}, policy="single-numa-node", scope="pod")
    pod = Pod("p", [Container("a", {GPU: 1}), Container("b", {GPU: 1})])
    admission = kubelet.admit(pod)
    assert admission.admitted
    devices = admission.devices("a", GPU) + admission.devices("b", GPU)
    assert sorted(devices) in (["Dev0", "Dev1"], ["Dev2", "Dev3"])
    assert kubelet.topology_hint("p", "a") == kubelet.topology_hint("p", "b")
    # Container scope would place them on different nodes once a node has one device left.
    assert kubelet.admit(Pod("q", [Container("a", {GPU: 1}), Container("b", {GPU: 1})])).admitted


def test_devices_without_topology_give_no_hint_and_are_allocated_as_without_a_manager(aligned):
    kubelet, plugin = aligned({}, policy="single-numa-node")
    plugin.set_devices(["Dev1", "Dev2"])
    kubelet.wait_for_allocatable(GPU, 2)
    assert kubelet.admit(Pod("p", [Container("c", {GPU: 2})])).admitted
    assert kubelet.topology_hint("p", "c") == TopologyHint(None, True)


@pytest.mark.parametrize(
    ("description", "held_elsewhere", "reusable", "expected_available", "expected_must"),
    [
        # topology_hints_test.go TestGetPreferredAllocationParameters, the hint pinned to NUMA 0.
        (
            "Request for 6, multisocket, 2 already allocated, 2 reusable",
            [],
            ["Dev1", "Dev6"],
            [f"Dev{i}" for i in range(8)],
            ["Dev0", "Dev1", "Dev2", "Dev3", "Dev6"],
        ),
        (
            "Request for 6, multisocket, 4 already allocated, 2 reusable",
            ["Dev0", "Dev7"],
            ["Dev1", "Dev6"],
            ["Dev1", "Dev2", "Dev3", "Dev4", "Dev5", "Dev6"],
            ["Dev1", "Dev2", "Dev3", "Dev6"],
        ),
    ],
)
def test_with_a_pinned_hint_aligned_devices_join_must_include_before_the_plugin_is_asked(
    make_kubelet, make_plugin, description, held_elsewhere, reusable, expected_available, expected_must
):
    kubelet = make_kubelet()
    plugin = make_plugin(
        devices=numa_devices({0: ["Dev0", "Dev1", "Dev2", "Dev3"], 1: ["Dev4", "Dev5", "Dev6", "Dev7"]}),
        preferred=True,
    )
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 8)
    # The collaborators composed by hand, so the hint can be pinned as the upstream test's mock store does.
    pod_devices = PodDevices()
    allocator = DeviceAllocator(kubelet._manager, pod_devices)
    if held_elsewhere:
        pod_devices.insert(
            "other", "c", GPU, Allocation(held_elsewhere, {0: held_elsewhere}, pb.ContainerAllocateResponse())
        )
    pod_devices.insert("p", "init", GPU, Allocation(reusable, {0: reusable}, pb.ContainerAllocateResponse()))
    pod = Pod("p", [Container("app", {GPU: 6})], init_containers=[Container("init", {GPU: 2})], uid="p")
    allocator.allocate(
        pod, pod.containers[0], {GPU: set(reusable)}, False, TopologyHint(frozenset({0}), True)
    )
    ((available, must, size),) = preferred_calls(plugin)
    assert (available, must, size) == (expected_available, expected_must, 6), description
