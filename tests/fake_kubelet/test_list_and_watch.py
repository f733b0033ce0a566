"""ListAndWatch as the kubelet consumes it: whole-set replacement, exact health, no retry, grace period."""

from __future__ import annotations

import threading
import time

import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet.endpoint import PluginClient, read_ahead
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def test_each_message_replaces_the_whole_device_set_and_the_event_carries_the_diff(registered, kubelet):
    plugin = registered(devices=["a", "b", "c"])
    since = kubelet.log.last_seq
    plugin.set_devices([device("b"), device("c", "Unhealthy"), device("d", numa=[1])])
    event = kubelet.wait_for_event("devices", since=since)
    assert event.data["added"] == ["d"]
    assert event.data["removed"] == ["a"]
    assert event.data["changed"] == ["c"]
    assert {d["id"]: d["numa"] for d in event.data["devices"]} == {"b": [], "c": [], "d": [1]}
    assert (kubelet.capacity(GPU), kubelet.allocatable(GPU)) == (3, 2)
    state = kubelet.resource(GPU)
    assert [(d.id, d.health) for d in state.devices] == [
        ("b", "Healthy"),
        ("c", "Unhealthy"),
        ("d", "Healthy"),
    ]


def test_only_the_exact_string_healthy_counts_as_healthy(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.set_devices([device("a", "healthy"), device("b", "HEALTHY "), device("c", "Healthy")])
    kubelet.wait_for_capacity(GPU, 3)
    assert kubelet.allocatable(GPU) == 1
    assert sorted(v.rule for v in kubelet.violations) == ["unknown_health", "unknown_health"]


def test_duplicate_ids_collapse_and_are_a_violation(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.set_devices(["a", "a", "b"])
    kubelet.wait_for_capacity(GPU, 2)
    assert kubelet.allocatable(GPU) == 2
    assert [v.rule for v in kubelet.violations] == ["duplicate_device_id"]


def test_capacity_events_only_when_the_counts_change(registered, kubelet):
    plugin = registered(devices=["a", "b"])
    plugin.set_devices(["b", "a"])
    plugin.set_devices(["a", "b", "c"])
    kubelet.wait_for_capacity(GPU, 3)
    counts = [(e.data["capacity"], e.data["allocatable"]) for e in kubelet.log.events(kind="capacity")]
    assert counts == [(2, 2), (3, 3)]


def test_stream_loss_makes_devices_unhealthy_then_capacity_zero_after_the_grace_period(
    registered, kubelet, clock
):
    plugin = registered(devices=["a", "b"])
    started = time.monotonic()
    plugin.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    assert kubelet.capacity(GPU) == 2  # capacity unchanged until the grace period ends
    assert kubelet.resource(GPU).stopped
    end = kubelet.log.events(kind="stream_end")[0]
    assert end.data["reason"].startswith("rpc error: code = ")
    clock.advance(299)
    assert kubelet.capacity(GPU) == 2
    clock.advance(1)
    assert kubelet.capacity(GPU) == 0
    assert kubelet.resource(GPU).removed  # the key stays on the node, at 0
    assert [e.data["resource"] for e in kubelet.log.events(kind="endpoint_removed")] == [GPU]
    assert plugin.count("ListAndWatch") == 1  # never retried
    assert time.monotonic() - started < 1.0


def test_a_clean_end_of_stream_is_a_disconnect_too(registered, kubelet):
    plugin = registered(devices=["a"])
    plugin.end_streams()
    kubelet.wait_for_allocatable(GPU, 0)
    end = kubelet.log.events(kind="stream_end")[0]
    assert end.data["reason"] == "the plugin ended the stream"


def test_re_registering_within_the_grace_period_restores_the_resource(registered, kubelet, clock):
    plugin = registered(devices=["a", "b"])
    plugin.end_streams()
    kubelet.wait_for_allocatable(GPU, 0)
    clock.advance(200)
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    clock.advance(200)  # the old grace timer must not fire any more
    assert (kubelet.capacity(GPU), kubelet.allocatable(GPU)) == (2, 2)
    assert kubelet.log.events(kind="endpoint_removed") == []


class _HeldStream:
    """A stream that hands out its messages, then waits for ``release`` before it ends or fails."""

    def __init__(self, messages: list[pb.ListAndWatchResponse], error: Exception | None = None) -> None:
        self.messages = list(messages)
        self.error = error
        self.drained = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> _HeldStream:
        return self

    def __next__(self) -> pb.ListAndWatchResponse:
        if self.messages:
            return self.messages.pop(0)
        self.drained.set()  # every message is in the read-ahead queue now
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        raise StopIteration


def _listed(*ids: str) -> pb.ListAndWatchResponse:
    return pb.ListAndWatchResponse(devices=[device(i) for i in ids])


def test_read_ahead_marks_all_but_a_bursts_last_message_so_the_checkpoint_is_written_once():
    stream = _HeldStream([_listed("a"), _listed("b"), _listed("c")])
    ahead = read_ahead(stream)
    first, _ = next(ahead)  # the queue may or may not hold the second one yet
    assert stream.drained.wait(5)
    second, second_more = next(ahead)
    third, third_more = next(ahead)  # the stream has sent nothing after it (yet)
    assert [m.devices[0].ID for m in (first, second, third)] == ["a", "b", "c"]
    assert (second_more, third_more) == (True, False)
    stream.release.set()
    assert list(ahead) == []


def test_read_ahead_raises_the_streams_error_after_the_messages_before_it():
    stream = _HeldStream([_listed("a")], error=RuntimeError("stream broke"))
    stream.release.set()
    ahead = read_ahead(stream)
    message, more = next(ahead)
    assert message.devices[0].ID == "a" and more is False
    with pytest.raises(RuntimeError, match="stream broke"):
        next(ahead)


def test_allocatable_follows_devices_turning_unhealthy_and_healthy_again(registered, kubelet):
    """device_plugin_failures_test.go: allocatable drops by the unhealthy devices and comes back
    as they recover; capacity stays."""
    plugin = registered(devices=["0", "1", "2", "3"])
    for unhealthy, allocatable in [({"3"}, 3), (set(), 4), ({"1", "3"}, 2), ({"1"}, 3), (set(), 4)]:
        plugin.set_devices([device(i, "Unhealthy" if i in unhealthy else "Healthy") for i in "0123"])
        kubelet.wait_for_allocatable(GPU, allocatable)
        assert kubelet.capacity(GPU) == 4


class _CancellableHeldStream(_HeldStream):
    """As a gRPC stream: the kubelet cancels it when it disconnects."""

    def cancel(self) -> None:
        self.release.set()


def test_a_burst_of_device_lists_is_applied_whole_and_written_to_the_checkpoint_once(
    kubelet, make_plugin, monkeypatch
):
    """200 lists already waiting (one device flapping): each is applied, the file is written after
    the last one, not 200 times (the kubelet writes on every update; see docs/fake-kubelet.md)."""
    flaps = [
        pb.ListAndWatchResponse(devices=[device("a"), device("b", "Healthy" if i % 2 == 0 else "Unhealthy")])
        for i in range(200)
    ]
    stream = _CancellableHeldStream(flaps)
    monkeypatch.setattr(PluginClient, "open_stream", lambda self: stream)
    writes: list[ckpt.Checkpoint] = []
    real_write = ckpt.write
    monkeypatch.setattr(ckpt, "write", lambda path, data: (writes.append(data), real_write(path, data)))
    since = kubelet.log.last_seq
    try:
        make_plugin().register(kubelet.socket_path)
        kubelet.wait_until(
            lambda: len(kubelet.log.events(kind="devices", since=since)) == len(flaps),
            timeout=10,
            what="every device list applied",
        )
        # The first list may come before the others are waiting; all but a few share one write.
        assert 1 <= len(writes) < 10, f"{len(writes)} checkpoint writes for a burst of {len(flaps)}"
        assert ckpt.read(kubelet.checkpoint_path).registered == {GPU: ["a"]}  # b ended Unhealthy
        assert (kubelet.capacity(GPU), kubelet.allocatable(GPU)) == (2, 1)
    finally:
        stream.release.set()
