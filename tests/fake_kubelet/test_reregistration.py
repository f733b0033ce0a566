"""Re-registration of a resource: the two kubelet behaviours (profiles) and bug #121994."""

from __future__ import annotations

import grpc
import pytest

GPU = "example.com/gpu"


def test_a_new_registration_replaces_the_endpoint_and_its_list_replaces_the_devices(registered, kubelet):
    registered("p1.sock", devices=["a", "b"])
    p2 = registered("p2.sock", devices=["a", "b"])
    assert kubelet.capacity(GPU) == 2
    assert kubelet.resource(GPU).endpoint.endpoint == "p2.sock"
    p2.set_devices(["c"])
    kubelet.wait_for_capacity(GPU, 1)
    assert [d.id for d in kubelet.resource(GPU).devices] == ["c"]


def test_resource_profile_reproduces_121994_the_old_streams_end_disconnects_the_new_plugin(
    registered, kubelet
):
    old = registered("old.sock", devices=["a", "b"])
    new = registered("new.sock", devices=["a", "b"])
    since = kubelet.log.last_seq
    old.stop()  # the old instance goes away *after* the new one registered
    kubelet.wait_for_allocatable(GPU, 0)
    first_end = kubelet.wait_for_event("stream_end", since=since)
    assert first_end.data["endpoint"] == "old.sock"
    assert first_end.data["disconnected_endpoint"] == "new.sock"
    assert kubelet.resource(GPU).stopped
    # the kubelet also closed its connection to the new plugin: that stream ended too
    kubelet.wait_for_event(
        "stream_end", since=first_end.seq, where=lambda e: e.data["endpoint"] == "new.sock"
    )
    assert new.count("ListAndWatch") == 1


def test_stopping_the_old_server_before_re_registering_keeps_the_resource_healthy(registered, kubelet):
    old = registered("gpu.sock", devices=["a", "b"])
    old.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    registered("gpu.sock", devices=["a", "b"])
    kubelet.wait_for_allocatable(GPU, 2)
    assert not kubelet.resource(GPU).stopped


@pytest.fixture
def socket_kubelet(make_kubelet):
    return make_kubelet(profile="resource+socket")


def test_resource_socket_profile_keeps_both_instances_and_a_survivor_takes_over(socket_kubelet, make_plugin):
    kubelet = socket_kubelet
    p1, p2 = make_plugin("p1.sock", devices=["a", "b"]), make_plugin("p2.sock", devices=["a", "b"])
    for plugin in (p1, p2):
        since = kubelet.log.last_seq
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_event(
            "devices", since=since, where=lambda e, p=plugin: e.data["endpoint"] == p.endpoint
        )
    assert [e.endpoint for e in kubelet.resource(GPU).endpoints] == ["p1.sock", "p2.sock"]
    since = kubelet.log.last_seq
    p1.stop()
    kubelet.wait_for_event("stream_end", since=since)
    assert kubelet.allocatable(GPU) == 2  # p2 survives: devices stay healthy
    assert kubelet.resource(GPU).endpoint.endpoint == "p2.sock"
    p2.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    assert kubelet.resource(GPU).stopped


def test_resource_socket_profile_rejects_the_same_socket_while_its_client_is_connected(
    socket_kubelet, make_plugin
):
    kubelet = socket_kubelet
    plugin = make_plugin("gpu.sock")
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    with pytest.raises(grpc.RpcError) as caught:
        plugin.register(kubelet.socket_path)
    assert caught.value.details() == f"device plugin already connected: {plugin.socket_path}"
    assert kubelet.allocatable(GPU) == 2
