"""Admission and container starts on a worker thread: the clock can jump while a plugin call hangs,
and every call announces itself when it starts."""

from __future__ import annotations

import threading

from fake_kubelet import Container, Pod

GPU = "example.com/gpu"


def test_a_hung_allocate_is_judged_when_the_clock_passes_its_deadline(registered, kubelet, clock):
    plugin = registered(devices=["a"])
    hang = threading.Event()
    plugin.allocate_handler = lambda request, context: hang.wait(30) and None
    since = kubelet.log.last_seq
    pending = kubelet.admit_async(Pod("p", [Container("app", {GPU: 1})]))
    started = kubelet.wait_for_event(
        "call_started", since=since, where=lambda e: e.data["method"] == "Allocate"
    )
    assert (started.data["pod"], started.data["container"]) == ("p", "app")
    assert not pending.done(), "admit_async returned only after the call it started"
    clock.advance(kubelet.call_timeout)
    admission = pending.result(5)
    hang.set()
    assert admission.reason == "UnexpectedAdmissionError"
    assert "context deadline exceeded" in admission.message


def test_a_container_start_can_run_in_the_background_too(registered, kubelet):
    registered(devices=["a"], pre_start_required=True)
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    start = kubelet.start_container_async("p", "app").result(5)
    assert start.ok
    methods = [e.data["method"] for e in kubelet.log.events(kind="call_started")]
    assert methods[-1] == "PreStartContainer"
    assert "ListAndWatch" in methods and "GetDevicePluginOptions" in methods
