"""Container (re)starts: PreStartContainer every time when required, cached allocation reused."""

from __future__ import annotations

import grpc

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Container, Pod

GPU = "example.com/gpu"


def one_gpu_pod(name: str = "p") -> Pod:
    return Pod(name, [Container("app", {GPU: 1})])


def test_prestart_runs_before_every_start_including_restarts_and_allocate_only_once(registered, kubelet):
    plugin = registered(devices=["a"], pre_start_required=True)
    assert kubelet.admit(one_gpu_pod()).admitted
    starts = [kubelet.start_container("p", "app")]
    starts += [kubelet.restart_container("p", "app") for _ in range(2)]
    assert [s.restart_count for s in starts] == [0, 1, 2]
    assert all(s.ok for s in starts)
    assert [list(r.devices_ids) for r in plugin.requests("PreStartContainer")] == [["a"]] * 3
    assert plugin.count("Allocate") == 1
    assert starts[-1].run_options["envs"] == {"STUB_VISIBLE_DEVICES": "a"}
    assert len(kubelet.log.events(kind="prestart")) == 3


def test_no_prestart_when_the_plugin_does_not_ask_for_it(registered, kubelet):
    plugin = registered(devices=["a"])
    kubelet.admit(one_gpu_pod())
    assert kubelet.start_container("p", "app").ok
    assert plugin.count("PreStartContainer") == 0


def test_a_failing_prestart_fails_the_container_start_with_the_kubelets_message(registered, kubelet):
    plugin = registered(devices=["a"], pre_start_required=True)
    plugin.prestart_handler = lambda req, ctx: ctx.abort(grpc.StatusCode.UNAVAILABLE, "not ready")
    kubelet.admit(one_gpu_pod())
    start = kubelet.start_container("p", "app")
    assert start.error == (
        "device plugin PreStartContainer rpc failed with err: rpc error: code = Unavailable desc = not ready"
    )
    assert kubelet.log.events(kind="container_start")[-1].data["error"] == start.error


def test_run_options_merge_the_responses_of_all_resources_first_value_wins(registered, kubelet):
    registered("a.sock", resource="example.com/a", devices=["a0"])
    b = registered("b.sock", resource="example.com/b", devices=["b0"])
    b.allocate_handler = lambda req, ctx: pb.AllocateResponse(
        container_responses=[
            pb.ContainerAllocateResponse(
                envs={"STUB_VISIBLE_DEVICES": "other", "B": "1"},
                devices=[
                    pb.DeviceSpec(container_path="/dev/stub0", host_path="/dev/elsewhere", permissions="r")
                ],
                cdi_devices=[pb.CDIDevice(name="example.com/b=b0")],
            )
        ]
    )
    kubelet.admit(Pod("p", [Container("app", {"example.com/a": 1, "example.com/b": 1})]))
    options = kubelet.start_container("p", "app").run_options
    assert options["envs"] == {"STUB_VISIBLE_DEVICES": "a0", "B": "1"}
    assert [d["host_path"] for d in options["devices"]] == ["/dev/stub0"]
    assert options["cdi_devices"] == ["example.com/b=b0"]
