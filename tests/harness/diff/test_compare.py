"""Traces keep only what the kubelet saw; comparing two says exactly what differs, and when."""

from __future__ import annotations

from types import SimpleNamespace as NS

from harness.diff.compare import compare
from harness.diff.trace import trace

GPU = "GPU-11111111-2222-3333-4444-555555555555"


def ev(t: float, source: str, kind: str, **data):
    return {"t": t, "source": source, "kind": kind, "data": data}


def result(events, status="passed", failure=None):
    return NS(events=events, gpus=[{"uuid": GPU, "mig": []}], status=status, failure=failure)


def run(
    health: str = "Unhealthy", t_unhealthy: float = 1.2, log: str = "device-unhealthy", visible: str = GPU
):
    return result(
        [
            ev(
                0.1,
                "kubelet",
                "register",
                resource="nvidia.com/gpu",
                endpoint="nvidia-gpu.sock",
                version="v1beta1",
                accepted=True,
                reason=None,
            ),
            ev(
                0.1,
                "kubelet",
                "devices",
                resource="nvidia.com/gpu",
                devices=[{"id": GPU, "health": "Healthy", "numa": [0]}],
            ),
            ev(0.2, "harness", "step", index=1, step="expect", text="registered"),
            ev(1.0, "harness", "step", index=2, step="inject", text="XID 79 on gpu0"),
            ev(t_unhealthy, "plugin", "log", line=log),
            ev(
                t_unhealthy,
                "kubelet",
                "devices",
                resource="nvidia.com/gpu",
                devices=[{"id": GPU, "health": health, "numa": [0]}],
            ),
            ev(1.5, "harness", "step", index=3, step="admit", text="admit pod p1"),
            ev(
                1.6,
                "kubelet",
                "allocate",
                resource="nvidia.com/gpu",
                pod="p1",
                container="main",
                devices=[GPU],
                response={
                    "envs": {"NVIDIA_VISIBLE_DEVICES": visible},
                    "annotations": {"cdi.k8s.io/x_0b7e6a52-1c4d-4f3e-9a1b-2c3d4e5f6a7b": "y"},
                },
                error=None,
            ),
            ev(2.0, "harness", "teardown", status="passed"),
        ]
    )


def test_what_the_plugin_logs_is_no_difference_and_fresh_uuids_are_not_either() -> None:
    assert compare("c", trace(run()), trace(run(log="something else entirely"))) == []


def test_a_health_difference_is_named_by_the_action_that_caused_it() -> None:
    (diff,) = compare("c", trace(run()), trace(run(health="Healthy")))
    assert (diff.step, diff.aspect) == ("step 2: XID 79 on gpu0", "devices nvidia.com/gpu")
    assert "Unhealthy" in diff.a and "Healthy numa" in diff.b


def test_allocate_answers_differ_field_by_field() -> None:
    (diff,) = compare("c", trace(run()), trace(run(visible="0")))
    assert (diff.step, diff.aspect, diff.b) == (
        "step 3: admit pod p1",
        "Allocate p1/main envs",
        '{"NVIDIA_VISIBLE_DEVICES": "0"}',
    )


def test_timing_beyond_the_tolerance_is_a_difference_and_within_it_is_not() -> None:
    assert compare("c", trace(run()), trace(run(t_unhealthy=1.9)), tolerance=1.0) == []
    (diff,) = compare("c", trace(run()), trace(run(t_unhealthy=1.9)), tolerance=0.5)
    assert diff.timing and diff.aspect == "time devices nvidia.com/gpu changed"
    assert (diff.a, diff.b) == ("0.200s", "0.900s")


def test_a_different_verdict_says_where_each_run_stopped() -> None:
    failed = run()
    failed.status, failed.failure = "failed", NS(step="step 4 (expect): allocatable 0")
    verdict = compare("c", trace(run()), trace(failed))[0]
    assert (verdict.step, verdict.a, verdict.b) == (
        "verdict",
        "passed",
        "failed at step 4 (expect): allocatable 0",
    )


def test_a_difference_that_lasts_is_reported_once_where_it_began() -> None:
    longer = run()
    longer.events.insert(-1, ev(1.8, "harness", "step", index=4, step="kubelet", text="kubelet restart"))
    other = run(health="Healthy")
    other.events.insert(-1, ev(1.8, "harness", "step", index=4, step="kubelet", text="kubelet restart"))
    diffs = compare("c", trace(longer), trace(other))
    assert [d.step for d in diffs] == ["step 2: XID 79 on gpu0"]


def launched(setup_s: float, preferred: list[str], register_after_s: float = 0.01):
    """A case whose plugin registers ``register_after_s`` after its launch, which took
    ``setup_s`` of the launcher's own set-up (nsinit's mounts), then answers a direct
    GetPreferredAllocation with ``preferred``."""
    exec_t = 0.05 + setup_s
    return result(
        [
            ev(0.05, "plugin", "start", launcher="NamespaceLauncher"),
            *([ev(exec_t, "plugin", "exec")] if setup_s else []),
            ev(
                exec_t + register_after_s,
                "kubelet",
                "register",
                resource="nvidia.com/gpu",
                endpoint="nvidia-gpu.sock",
                version="v1beta1",
                accepted=True,
                reason=None,
            ),
            ev(exec_t + 0.1, "harness", "step", index=1, step="call", text="call GetPreferredAllocation"),
            ev(exec_t + 0.2, "harness", "rpc", rpc="GetPreferredAllocation", answer=preferred),
            ev(exec_t + 0.3, "harness", "teardown", status="passed"),
        ]
    )


def test_registration_is_timed_from_the_plugins_exec_not_the_launchers_set_up() -> None:
    # NVIDIA's plugin under the namespace launcher registered 2.0-2.7 s into each case, ours
    # in-process in 0.01-0.8 s: all of it was nsinit's mounts before the exec.
    a, b = launched(0.0, [GPU]), launched(2.5, [GPU])
    assert compare("c", trace(a), trace(b)) == []
    (late,) = compare("c", trace(a), trace(launched(2.5, [GPU], register_after_s=2.0)))
    assert (late.step, late.aspect, late.a, late.b) == ("start", "time registered", "0.010s", "2.000s")


def test_a_preferred_allocation_is_a_set_to_the_kubelet_so_its_order_is_no_difference() -> None:
    other = "GPU-99999999-2222-3333-4444-555555555555"
    assert compare("c", trace(launched(0, [GPU, other])), trace(launched(0, [other, GPU]))) == []
    (diff,) = compare("c", trace(launched(0, [GPU, other])), trace(launched(0, [GPU])))
    assert diff.aspect == "call GetPreferredAllocation"


def registers(resource: str, t: float):
    common = {"endpoint": resource.split("/")[1] + ".sock", "resource": resource}
    return [
        ev(t, "kubelet", "options", pre_start_required=False, **common),
        ev(t, "kubelet", "register", version="v1beta1", accepted=True, reason=None, **common),
        ev(t, "kubelet", "devices", devices=[{"id": GPU, "health": "Healthy", "numa": [0]}], **common),
    ]


def mig_case(order: list[str], late: set[str], restart_registers: bool = True):
    """Resources registered in ``order`` after the launch, those in ``late`` only once step 1 (an
    Allocate call) began; then a kubelet restart (step 2) after which each registers again."""
    events = [ev(0.0, "plugin", "start")]
    for i, resource in enumerate(r for r in order if r not in late):
        events += registers(resource, 0.01 * (i + 1))
    events.append(ev(0.1, "harness", "step", index=1, step="call", text="call Allocate"))
    for i, resource in enumerate(r for r in order if r in late):
        events += registers(resource, 0.11 + 0.01 * i)
    events.append(ev(0.5, "harness", "step", index=2, step="kubelet", text="kubelet restart"))
    events.append(ev(0.5, "kubelet", "start"))
    if restart_registers:
        for i, resource in enumerate(order):
            events += registers(resource, 0.6 + 0.01 * i)
    events.append(ev(1.0, "harness", "teardown", status="passed"))
    return result(events)


def test_resources_registered_one_by_one_belong_to_the_launch_in_whatever_order_and_step() -> None:
    # NVIDIA's plugin registers its MIG resources one at a time, in Go map order; the case moved on
    # once its own resource was registered, so the rest landed in step 1 (14 MIG cases differed).
    mine = ["nvidia.com/gpu", "nvidia.com/mig-1g.10gb", "nvidia.com/mig-3g.40gb"]
    theirs = ["nvidia.com/mig-3g.40gb", "nvidia.com/mig-1g.10gb", "nvidia.com/gpu"]
    late = {"nvidia.com/gpu", "nvidia.com/mig-1g.10gb"}
    assert compare("c", trace(mig_case(mine, set())), trace(mig_case(theirs, late))) == []
    # a re-registration after the kubelet's restart still belongs to the restart's step
    diffs = compare("c", trace(mig_case(mine, set())), trace(mig_case(theirs, late, restart_registers=False)))
    assert {(d.step, d.aspect) for d in diffs} == {
        ("step 2: kubelet restart", "register"),
        ("step 2: kubelet restart", "options"),
    }


def answered(key_uuid: str, tmp: str):
    """A case whose Allocate answer carries a CDI annotation key with a fresh UUID, and whose
    direct call fails on the case's own socket path."""
    gone = f"UNAVAILABLE: failed to connect to all addresses: unix:{tmp}/dp/nvidia-gpu.sock"
    return result(
        [
            ev(0.0, "harness", "setup", tmp=tmp),
            ev(0.1, "harness", "step", index=1, step="call", text="call Allocate"),
            ev(
                0.2,
                "harness",
                "rpc",
                rpc="Allocate",
                answer={"annotations": {f"cdi.k8s.io/nvidia-device-plugin_{key_uuid}": f"k8s/gpu={GPU}"}},
            ),
            ev(0.3, "harness", "step", index=2, step="call", text="the socket is gone"),
            ev(0.4, "harness", "rpc", rpc="GetDevicePluginOptions", error=gone),
            ev(0.5, "harness", "teardown", status="passed"),
        ]
    )


def test_fresh_cdi_annotation_uuids_and_the_cases_tmp_folder_are_no_difference() -> None:
    # the key's "_" is a word character, so a \b-bounded UUID pattern missed it (13 CDI cases
    # differed only in it), and every case runs in its own /tmp/gh* folder
    one = answered("cdd7e263-a723-43e4-9a93-3c506db61d61", "/tmp/ghkw9qhcqk")
    other = answered("e4755e43-0ebf-4e34-85c4-e1d0482d4c07", "/tmp/ghq3uzbnar")
    assert compare("c", trace(one), trace(other)) == []
    node_gpu_differs = answered("cdd7e263-a723-43e4-9a93-3c506db61d61", "/tmp/ghkw9qhcqk")
    node_gpu_differs.events[2]["data"]["answer"]["annotations"] = {"k": "k8s/gpu=0"}
    (diff,) = compare("c", trace(one), trace(node_gpu_differs))
    assert diff.aspect == "call Allocate" and GPU in diff.a


def test_a_first_device_list_that_comes_as_the_case_tears_down_still_counts() -> None:
    # cdi/feature-envs-under-all-cdi: NVIDIA's first ListAndWatch answer came 3 ms after teardown
    options, register, devices = registers("nvidia.com/gpu", 0.01)
    call = ev(0.1, "harness", "step", index=1, step="call", text="call Allocate")
    teardown = ev(0.2, "harness", "teardown", status="passed")
    on_time = result([options, register, devices, call, teardown])
    late = result([options, register, call, teardown, {**devices, "t": 0.21}])
    never = result([options, register, call, teardown])
    assert compare("c", trace(on_time), trace(late)) == []
    assert {d.aspect for d in compare("c", trace(on_time), trace(never))} == {"devices nvidia.com/gpu"}


def test_a_stream_the_exited_plugin_left_ends_in_the_step_it_exited() -> None:
    # lifecycle/node-reboot-before-the-plugin-registers: our in-process plugin's stream end
    # reached the kubelet 30 ms after its exit, once the next step (a kubelet reboot) had begun
    def stopped(stream_end_t: float):
        return result(
            [
                *registers("nvidia.com/gpu", 0.01),
                ev(0.1, "harness", "step", index=1, step="plugin", text="plugin stop"),
                ev(0.14, "plugin", "exit", code=0),
                ev(0.15, "harness", "step", index=2, step="kubelet", text="kubelet reboot"),
                ev(stream_end_t, "kubelet", "stream_end", resource="nvidia.com/gpu"),
                ev(0.3, "harness", "teardown", status="passed"),
            ],
        )

    def in_order(case):
        case.events.sort(key=lambda e: e["t"])
        return case

    assert compare("c", trace(in_order(stopped(0.12))), trace(in_order(stopped(0.17)))) == []
