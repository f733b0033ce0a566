"""Re-registration of a resource: the two kubelet behaviours (profiles) and bug #121994."""

from __future__ import annotations

import threading

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


def test_a_client_the_kubelet_dropped_does_not_take_down_the_next_registration_when_its_stream_ends_late(
    registered, kubelet, monkeypatch
):
    """#121994 takes down the newest client when an *older* plugin's stream ends. The client it took
    down (ours) then ends its own stream; in Go that epilogue finds its name already deleted within
    microseconds. Here its reader thread may be starved past our next registration (a loaded
    machine), and must not take that one down too: the flake of stale-instance-disconnects-new-
    registration."""
    registration = kubelet._registration
    real_stream_ended = registration._stream_ended
    release = threading.Event()
    held: list[str] = []

    def starved(client, reason):
        if client.endpoint == "new.sock" and not held:
            held.append(reason)
            release.wait(10)  # the reader of our first client, starved until we registered again
        real_stream_ended(client, reason)

    monkeypatch.setattr(registration, "_stream_ended", starved)
    old = registered("old.sock", devices=["a", "b"])
    new = registered("new.sock", devices=["a", "b"])
    old.stop()  # the old instance's stream end disconnects ours (#121994)
    kubelet.wait_for_allocatable(GPU, 0)
    since = kubelet.log.last_seq
    new.register(kubelet.socket_path)  # as our plugin does on stream-lost
    kubelet.wait_for_event("devices", since=since, where=lambda e: e.data["endpoint"] == "new.sock")
    assert held, "our first client's stream ended and its reader is held"
    release.set()
    kubelet.wait_for_event(
        "stream_end", since=since, where=lambda e: e.data["endpoint"] == "new.sock", timeout=5
    )
    ended = kubelet.log.events(kind="stream_end", since=since)
    assert [e.data.get("disconnected_endpoint") for e in ended] == [None]
    assert kubelet.allocatable(GPU) == 2 and not kubelet.resource(GPU).stopped


def test_a_client_disconnected_before_it_connected_still_streams_once_attached(make_plugin, sockdir):
    """Go's Disconnect closes the connection only if there is one; a Connect after it works."""
    from fake_kubelet.endpoint import PluginClient

    plugin = make_plugin("gpu.sock", devices=["a"])
    client = PluginClient(GPU, "gpu.sock", plugin.socket_path, 0)
    client.disconnect()
    client.attach(grpc.insecure_channel(f"unix://{plugin.socket_path}"))
    try:
        stream = client.open_stream()
        assert stream is not None
        assert [d.ID for d in next(iter(stream)).devices] == ["a"]
    finally:
        client.disconnect()


def test_resource_socket_profile_accepts_the_same_socket_again_once_its_stream_ended(
    socket_kubelet, make_plugin
):
    """manager_test.go TestSameSocketRace_DisconnectBeforeReconnectAttempt: refused while its
    client is connected, accepted once that stream ended."""
    kubelet = socket_kubelet
    plugin = make_plugin("gpu.sock")
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    with pytest.raises(grpc.RpcError):
        plugin.register(kubelet.socket_path)
    since = kubelet.log.last_seq
    plugin.end_streams()
    kubelet.wait_for_event("stream_end", since=since)
    kubelet.wait_for_allocatable(GPU, 0)
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    assert [e.endpoint for e in kubelet.resource(GPU).endpoints] == ["gpu.sock"]
