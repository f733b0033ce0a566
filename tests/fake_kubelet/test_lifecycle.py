"""Construction, waiting and tear-down: isolated instances that never leave a thread or socket behind."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from fake_kubelet import Container, FakeKubelet, Pod
from simkit import WaitTimeout

GPU = "example.com/gpu"


def test_the_default_socket_dir_is_a_short_private_temp_dir_removed_on_close():
    with FakeKubelet() as kubelet:
        assert kubelet.socket_dir.startswith("/tmp/fk")
        assert os.path.exists(kubelet.socket_path)
        directory = kubelet.socket_dir
    assert not os.path.exists(directory)


def test_a_socket_dir_too_long_for_unix_sockets_is_refused_with_advice():
    with pytest.raises(ValueError, match=r"at most 107.*mkdtemp"):
        FakeKubelet("/tmp/" + "d" * 100)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match=r"choose one of \['resource', 'resource\+socket'\]"):
        FakeKubelet(profile="socket")


def test_close_ends_streams_and_threads_quickly_and_removes_the_socket(registered, kubelet, sockdir):
    registered(devices=["a"])
    registered("two.sock", resource="example.com/two", devices=["b"])
    before = threading.active_count()
    started = time.monotonic()
    kubelet.close()
    assert time.monotonic() - started < 1.5
    assert not os.path.exists(kubelet.socket_path)
    assert os.path.isdir(sockdir)  # a dir we were given is not ours to delete
    assert not any(t.name.startswith("fake-kubelet-law") for t in threading.enumerate())
    assert threading.active_count() <= before


def test_waiting_names_what_it_waited_for(kubelet):
    with pytest.raises(WaitTimeout, match=r"example\.com/gpu allocatable 3"):
        kubelet.wait_for_allocatable(GPU, 3, timeout=0.05)


def test_every_event_is_a_json_serialisable_kubelet_event(registered, kubelet):
    plugin = registered(devices=["a"], pre_start_required=True, preferred=True)
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    kubelet.start_container("p", "app")
    plugin.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    kubelet.restart()
    events = json.loads(kubelet.log.to_json())
    kinds = {e["kind"] for e in events}
    assert {
        "start",
        "options",
        "register",
        "devices",
        "capacity",
        "preferred_allocation",
        "allocate",
        "admit",
        "prestart",
        "container_start",
        "stream_end",
        "stop",
        "restart",
    } <= kinds
    assert {e["source"] for e in events} == {"kubelet"}


def test_events_go_to_the_log_it_was_given_even_when_that_log_starts_empty(sockdir, log, clock):
    kubelet = FakeKubelet(sockdir, log=log)
    try:
        assert kubelet.log is log and kubelet.clock is clock
        kubelet.start()
        assert [e.kind for e in log.events()] == ["start"]
    finally:
        kubelet.close()
