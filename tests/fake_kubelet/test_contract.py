"""Contract checks stricter than the kubelet: violations, never exceptions; a deadline on every call."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Container, Pod

GPU = "example.com/gpu"


def one_gpu(name: str = "p", n: int = 1) -> Pod:
    return Pod(name, [Container("app", {GPU: n})])


def rules(kubelet) -> list[str]:
    return sorted(v.rule for v in kubelet.violations)


def test_runtime_rules_on_the_allocate_response_are_checked(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.allocate_handler = lambda req, ctx: pb.AllocateResponse(
        container_responses=[
            pb.ContainerAllocateResponse(
                envs={"GOOD_KEY": "1", "1BAD": "x", "A=B": "y"},
                devices=[
                    pb.DeviceSpec(container_path="dev/x", host_path="/dev/x", permissions="rwx"),
                    pb.DeviceSpec(container_path="/dev/y", host_path="/dev/y", permissions="rr"),
                    pb.DeviceSpec(container_path="/dev/z", host_path="/dev/z", permissions="mrw"),
                ],
                mounts=[pb.Mount(container_path="/lib/x", host_path="relative/lib")],
                cdi_devices=[pb.CDIDevice(name="gpu0"), pb.CDIDevice(name="nvidia.com/gpu=0")],
            )
        ]
    )
    admission = kubelet.admit(one_gpu())
    assert admission.admitted  # the kubelet itself accepts all of it
    assert rules(kubelet) == [
        "cdi_name",
        "device_spec_path",
        "device_spec_permissions",
        "device_spec_permissions",
        "env_key",
        "env_key",
        "mount_path",
    ]
    violation_events = kubelet.log.events(kind="violation")
    assert {e.data["resource"] for e in violation_events} == {GPU}
    assert any("'gpu0'" in e.data["detail"] for e in violation_events)


def test_more_than_one_response_for_one_container_is_a_violation(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.allocate_handler = lambda req, ctx: pb.AllocateResponse(
        container_responses=[pb.ContainerAllocateResponse(), pb.ContainerAllocateResponse()]
    )
    assert kubelet.admit(one_gpu()).admitted  # only the first response is used
    assert rules(kubelet) == ["response_count"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (["a", "b"], []),
        (["a", "zz"], ["preferred_not_subset"]),
        (["a"], ["preferred_wrong_size"]),
        (["a", "b", "c"], ["preferred_wrong_size"]),
    ],
)
def test_a_preferred_answer_must_be_a_subset_of_the_requested_size(registered, kubelet, answer, expected):
    plugin = registered(devices=["a", "b", "c"], preferred=True)
    plugin.preferred_handler = lambda req, ctx: pb.PreferredAllocationResponse(
        container_responses=[pb.ContainerPreferredAllocationResponse(deviceIDs=answer)]
    )
    admission = kubelet.admit(one_gpu(n=2))
    assert admission.admitted
    assert len(admission.devices("app", GPU)) == 2  # the kubelet fills or trims as needed
    assert rules(kubelet) == expected


def test_a_preferred_answer_must_keep_the_must_include_devices(registered, kubelet):
    plugin = registered(devices=["a", "b", "c"], preferred=True)

    def leave_out_must_include(req, ctx):
        creq = req.container_requests[0]
        others = [d for d in creq.available_deviceIDs if d not in creq.must_include_deviceIDs]
        return pb.PreferredAllocationResponse(
            container_responses=[
                pb.ContainerPreferredAllocationResponse(deviceIDs=others[: creq.allocation_size])
            ]
        )

    plugin.preferred_handler = leave_out_must_include
    pod = Pod("p", [Container("app", {GPU: 2})], init_containers=[Container("init", {GPU: 1})])
    assert kubelet.admit(pod).admitted
    assert rules(kubelet) == ["preferred_missing_must_include"]


def test_a_slow_answer_over_the_budget_is_a_violation(make_kubelet, make_plugin, clock):
    kubelet = make_kubelet(response_budget=1.0)
    plugin = make_plugin(devices=["a"])
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 1)

    def slow(request, context):
        clock.advance(2)  # two seconds pass on the scenario clock while the plugin works
        return pb.AllocateResponse(container_responses=[pb.ContainerAllocateResponse()])

    plugin.allocate_handler = slow
    assert kubelet.admit(one_gpu()).admitted
    (violation,) = kubelet.violations
    assert violation.rule == "response_time" and "Allocate took" in violation.detail


@pytest.mark.parametrize(("lent", "violation"), [(1.5, False), (0.5, True)])
def test_the_budget_leaves_out_the_time_the_simulation_spent_answering(
    make_kubelet, make_plugin, clock, lent, violation
):
    # a plugin process's NVML calls are round trips to the simulated node, not the plugin's time
    kubelet = make_kubelet(response_budget=1.0)
    borrowed = [0.0]
    kubelet.timeouts.borrowed = lambda: borrowed[0]
    plugin = make_plugin(devices=["a"])
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 1)

    def slow(request, context):
        clock.advance(2)
        borrowed[0] += lent  # of which the node spent this answering NVML calls
        return pb.AllocateResponse(container_responses=[pb.ContainerAllocateResponse()])

    plugin.allocate_handler = slow
    assert kubelet.admit(one_gpu()).admitted
    found = kubelet.violations
    assert bool(found) is violation
    if violation:
        assert "0.500s of it in NVML round trips" in found[0].detail


def run_in_thread(fn):
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    return thread, result


def test_a_hung_allocate_gets_a_verdict_at_the_deadline(registered, kubelet, clock):
    plugin = registered(devices=["a"])
    plugin.allocate_handler = lambda req, ctx: plugin.release.wait(30) and pb.AllocateResponse()
    started = time.monotonic()
    thread, result = run_in_thread(lambda: kubelet.admit(one_gpu()))
    plugin.wait_for_calls("Allocate")
    clock.advance(kubelet.call_timeout)
    thread.join(5)
    (admission,) = result
    assert admission.message == (
        "Allocate failed due to rpc error: code = DeadlineExceeded desc = context deadline exceeded, "
        "which is unexpected"
    )
    assert rules(kubelet) == ["deadline_exceeded"]
    assert time.monotonic() - started < 2


def test_a_hung_options_call_fails_register_at_the_deadline(kubelet, make_plugin, clock):
    plugin = make_plugin()
    plugin.options_handler = lambda req, ctx: plugin.release.wait(30) and plugin.options
    errors: list[grpc.RpcError] = []

    def register() -> None:
        try:
            plugin.register(kubelet.socket_path, timeout=30)
        except grpc.RpcError as error:
            errors.append(error)

    thread = threading.Thread(target=register)
    thread.start()
    plugin.wait_for_calls("GetDevicePluginOptions")
    clock.advance(kubelet.call_timeout)
    thread.join(5)
    assert errors[0].details() == (
        "failed to get device plugin options: "
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    )
    assert plugin.count("ListAndWatch") == 0


def test_a_hung_prestart_fails_the_start_after_the_kubelets_30_seconds(registered, kubelet, clock):
    plugin = registered(devices=["a"], pre_start_required=True)
    kubelet.admit(one_gpu())
    plugin.prestart_handler = lambda req, ctx: plugin.release.wait(60) and pb.PreStartContainerResponse()
    thread, result = run_in_thread(lambda: kubelet.start_container("p", "app"))
    plugin.wait_for_calls("PreStartContainer")
    clock.advance(kubelet.call_timeout)
    assert thread.is_alive()  # 10 s is not enough: PreStart has its own 30 s
    clock.advance(30 - kubelet.call_timeout)
    thread.join(5)
    assert "DeadlineExceeded" in result[0].error
