"""Kubelet restarts, stops and crashes: what a plugin sees, what survives."""

from __future__ import annotations

import os
import socket
import stat

import grpc
import pytest

from fake_kubelet import Container, Pod

GPU = "example.com/gpu"


def is_socket(path: str) -> bool:
    return os.path.exists(path) and stat.S_ISSOCK(os.lstat(path).st_mode)


def test_restart_removes_plugin_sockets_but_keeps_checkpoint(registered, kubelet, sockdir):
    plugin = registered(devices=["a", "b"])
    with open(os.path.join(sockdir, "notes.txt"), "w") as other:
        other.write("a regular file stays")
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    assert is_socket(plugin.socket_path)
    kubelet.restart()
    assert not os.path.exists(plugin.socket_path)
    assert os.path.isfile(kubelet.checkpoint_path)
    assert os.path.isfile(os.path.join(sockdir, "notes.txt"))
    assert is_socket(kubelet.socket_path)  # created anew
    restart = kubelet.log.events(kind="restart")[-1]
    assert restart.data["removed_sockets"] == ["stub.sock"]
    assert [e.kind for e in kubelet.log.events(kind={"stop", "restart", "start"})][-3:] == [
        "stop",
        "restart",
        "start",
    ]


def test_restart_cancels_the_stream_and_restores_resources_as_stopped_with_capacity_zero(
    registered, kubelet, clock
):
    plugin = registered(devices=["a", "b"])
    kubelet.restart()
    state = kubelet.resource(GPU)
    assert (state.capacity, state.allocatable, state.stopped) == (0, 0, True)
    assert state.options is None
    assert plugin.count("ListAndWatch") == 1
    clock.advance(300)
    assert kubelet.resource(GPU).removed
    assert [e.data["resource"] for e in kubelet.log.events(kind="endpoint_removed")] == [GPU]


def test_allocations_survive_a_restart_and_the_plugin_can_register_again(registered, make_plugin, kubelet):
    plugin = registered(devices=["a", "b"], pre_start_required=True)
    admission = kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    assert kubelet.start_container("p", "app").ok
    kubelet.restart()
    assert [a.devices for a in kubelet.allocations("p")] == [admission.devices("app", GPU)]
    plugin.stop()
    again = make_plugin(devices=["a", "b"], pre_start_required=True)
    again.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    # The running container is not re-admitted for devices; its restart reuses the allocation.
    assert kubelet.admit(Pod("p", [Container("app", {GPU: 1})])).admitted
    assert kubelet.restart_container("p", "app").ok
    assert again.count("Allocate") == 0
    assert [list(r.devices_ids) for r in again.requests("PreStartContainer")] == [
        admission.devices("app", GPU)
    ]
    assert kubelet.allocated_devices(GPU) == set(admission.devices("app", GPU))


def test_after_a_node_reboot_pods_are_rejected_until_the_plugin_registers(registered, kubelet):
    registered(devices=["a"])
    kubelet.restart()
    admission = kubelet.admit(Pod("fresh", [Container("app", {GPU: 1})]))
    assert admission.reason == "UnexpectedAdmissionError"
    assert "no healthy devices present" in admission.message


def test_stop_removes_the_kubelet_socket_and_start_creates_it(kubelet):
    kubelet.stop()
    assert not os.path.exists(kubelet.socket_path)
    assert not kubelet.serving
    kubelet.start()
    assert is_socket(kubelet.socket_path)
    assert [e.kind for e in kubelet.log.events(kind={"start", "stop"})] == ["start", "stop", "start"]


def test_a_crash_leaves_a_stale_socket_that_the_next_start_replaces(registered, kubelet):
    plugin = registered(devices=["a"])
    inode = os.stat(kubelet.socket_path).st_ino
    kubelet.crash()
    assert is_socket(kubelet.socket_path)
    assert os.stat(kubelet.socket_path).st_ino == inode, "a crash must not delete and re-create kubelet.sock"
    probe = socket.socket(socket.AF_UNIX)
    with pytest.raises(ConnectionRefusedError):  # stale: nobody listens
        probe.connect(kubelet.socket_path)
    probe.close()
    kubelet.start()
    assert kubelet.log.events(kind="start")[-1].data["removed_sockets"] == ["kubelet.sock", "stub.sock"]
    plugin.stop()
    again = type(plugin)(plugin.socket_dir, devices=["a"]).start()
    try:
        again.register(kubelet.socket_path)
        kubelet.wait_for_allocatable(GPU, 1)
    finally:
        again.stop()


def test_a_stop_as_register_starts_its_stream_reader_ends_cleanly(kubelet, make_plugin, monkeypatch):
    """A test that returns on the register event and stops the kubelet at once (the flaky
    test_registers_again_when_the_kubelet_drops_its_stream_for_an_older_instances_exit under load).

    Here the stop runs, to its end, just as Register starts the ListAndWatch reader thread. Before:
    it joined that thread before it had started ("cannot join thread before it is started").
    """
    import threading
    import types

    from fake_kubelet import registration

    failures: list[BaseException] = []
    stoppers: list[threading.Thread] = []

    def stop_kubelet() -> None:
        try:
            kubelet.stop()
        except BaseException as exc:
            failures.append(exc)

    class StoppedAsItStarts(threading.Thread):
        def start(self) -> None:
            stopper = threading.Thread(target=stop_kubelet, name="test-stopper")
            stoppers.append(stopper)
            stopper.start()
            stopper.join(10)
            super().start()

    patched = types.ModuleType("threading")
    patched.__dict__.update(threading.__dict__)
    patched.Thread = StoppedAsItStarts  # type: ignore[attr-defined]
    monkeypatch.setattr(registration, "threading", patched)
    plugin = make_plugin(devices=["a"])
    with pytest.raises(grpc.RpcError):  # the stop cancels the Register call it interrupted
        plugin.register(kubelet.socket_path)
    assert len(stoppers) == 1
    stoppers[0].join(10)  # the cancelled Register returns while the stop still joins its clients
    assert failures == []
    assert kubelet.log.events(kind="stop")
