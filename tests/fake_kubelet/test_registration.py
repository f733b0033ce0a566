"""Register as the kubelet handles it: checks, synchronous dial-back, options first, then ListAndWatch."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import FakeKubelet
from tests.fake_kubelet.stub_plugin import StubPlugin


def rejection(plugin: StubPlugin, kubelet: FakeKubelet, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        plugin.register(kubelet.socket_path, **kwargs)
    return caught.value


def test_register_dials_back_asks_options_then_streams_devices(kubelet, make_plugin) -> None:
    plugin = make_plugin(devices=["a", "b", "c"])
    plugin.register(kubelet.socket_path)
    assert plugin.count("GetDevicePluginOptions") == 1  # inside Register, before it returned
    kubelet.wait_for_allocatable("example.com/gpu", 3, timeout=5)
    assert [m for m, _ in plugin.calls][:2] == ["GetDevicePluginOptions", "ListAndWatch"]
    state = kubelet.resource("example.com/gpu")
    assert state.endpoint.endpoint == "stub.sock"
    assert state.options == {"pre_start_required": False, "get_preferred_allocation_available": False}
    register = kubelet.wait_for_registration("example.com/gpu")
    assert register.data["accepted"] is True and register.data["reason"] is None


def test_unsupported_version_is_rejected_with_the_kubelets_message(kubelet, make_plugin) -> None:
    plugin = make_plugin()
    error = rejection(plugin, kubelet, version="v1alpha")
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert error.details() == (
        'requested API version "v1alpha" is not supported by kubelet. Supported version is ["v1beta1"]'
    )
    assert plugin.count("GetDevicePluginOptions") == 0
    (event,) = kubelet.log.events(kind="register")
    assert event.data["accepted"] is False and "v1alpha" in event.data["reason"]


@pytest.mark.parametrize(
    "name",
    [
        "gpu",
        "kubernetes.io/gpu",
        "example.kubernetes.io/gpu",
        "requests.example.com/gpu",
        "Example.com/gpu",
        "example.com/",
        "example.com/-gpu",
        "a/b/c",
        "example.com/" + "g" * 64,
    ],
)
def test_invalid_resource_names_are_rejected_with_the_kubelets_message(kubelet, make_plugin, name) -> None:
    plugin = make_plugin()
    error = rejection(plugin, kubelet, resource=name)
    assert error.details() == f'the ResourceName "{name}" is invalid'
    assert plugin.count("GetDevicePluginOptions") == 0
    assert kubelet.resources() == {}


def test_a_plugin_whose_options_call_fails_is_never_streamed(kubelet, make_plugin) -> None:
    plugin = make_plugin()

    def broken(request, context):
        context.abort(grpc.StatusCode.INTERNAL, "no options today")

    plugin.options_handler = broken
    error = rejection(plugin, kubelet)
    assert error.details() == (
        "failed to get device plugin options: rpc error: code = Internal desc = no options today"
    )
    assert plugin.count("GetDevicePluginOptions") == 1
    assert plugin.count("ListAndWatch") == 0
    assert kubelet.capacity("example.com/gpu") == 0
    (options,) = kubelet.log.events(kind="options")
    assert options.data["error"].endswith("no options today")


def test_register_fails_when_nothing_serves_the_endpoint_after_the_dial_deadline(make_kubelet, make_plugin):
    kubelet = make_kubelet(dial_timeout=0.3)
    plugin = make_plugin()
    plugin.stop()  # its socket is gone: the dial can never complete
    started = time.monotonic()
    error = rejection(plugin, kubelet)
    assert error.details() == "failed to dial device plugin: context deadline exceeded"
    assert 0.3 <= time.monotonic() - started < 2
    assert kubelet.resources() == {}


def test_options_in_the_register_request_are_ignored(kubelet, make_plugin) -> None:
    plugin = make_plugin(preferred=False)
    plugin.register(
        kubelet.socket_path,
        options=pb.DevicePluginOptions(pre_start_required=True, get_preferred_allocation_available=True),
    )
    kubelet.wait_for_allocatable("example.com/gpu", 2)
    assert kubelet.resource("example.com/gpu").options == {
        "pre_start_required": False,
        "get_preferred_allocation_available": False,
    }
    assert [v.rule for v in kubelet.violations] == ["options_mismatch"]


def test_register_succeeds_while_an_older_stream_of_the_same_plugin_is_open(registered, kubelet) -> None:
    plugin = registered()
    for _ in range(3):  # each re-registration opens one more stream on the plugin's server
        plugin.register(kubelet.socket_path, timeout=5)
    plugin.wait_for_calls("ListAndWatch", 4)


def test_endpoint_paths_longer_than_a_unix_socket_allows_fail_to_dial(kubelet, make_plugin) -> None:
    plugin = make_plugin()
    plugin.endpoint = "x" * 120 + ".sock"
    error = rejection(plugin, kubelet)
    assert error.details() == "failed to dial device plugin: context deadline exceeded"
    (event,) = kubelet.log.events(kind="register")
    assert "exceeds 107 bytes" in event.data["detail"]


def test_a_plugin_whose_open_streams_hold_every_worker_cannot_answer_options_and_register_fails(
    make_kubelet, make_plugin, clock
):
    # The verdict comes from the virtual clock, once the starved call is on its way: the calls
    # that must succeed keep the kubelet's default deadline and a response budget no load reaches.
    kubelet = make_kubelet(response_budget=60.0)
    plugin = make_plugin(max_workers=2)
    plugin.register(kubelet.socket_path)  # stream 1 holds a worker
    plugin.register(kubelet.socket_path)  # the old stream stays open: stream 2 holds the other
    plugin.wait_for_calls("ListAndWatch", 2)
    since = kubelet.log.last_seq
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(rejection, plugin, kubelet, timeout=60.0)
        kubelet.wait_for_event(
            "call_started", since=since, where=lambda e: e.data["method"] == "GetDevicePluginOptions"
        )
        clock.advance(kubelet.call_timeout)
        error = pending.result(30)
    assert error.details() == (
        "failed to get device plugin options: "
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    )
    assert plugin.count("GetDevicePluginOptions") == 2
    assert [v.rule for v in kubelet.violations] == ["deadline_exceeded"]
