"""Fixtures: a fake kubelet in its own short socket dir, and stub plugins beside it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from fake_kubelet import FakeKubelet
from simkit import ObservationLog
from tests.fake_kubelet.stub_plugin import StubPlugin


@pytest.fixture
def make_kubelet(sockdir: str, log: ObservationLog) -> Iterator[Callable[..., FakeKubelet]]:
    made: list[FakeKubelet] = []

    def make(**kwargs) -> FakeKubelet:
        kubelet = FakeKubelet(sockdir, log=log, **kwargs)
        made.append(kubelet)
        kubelet.start()
        return kubelet

    yield make
    for kubelet in made:
        kubelet.close()


@pytest.fixture
def kubelet(make_kubelet: Callable[..., FakeKubelet]) -> FakeKubelet:
    return make_kubelet()


@pytest.fixture
def make_plugin(sockdir: str) -> Iterator[Callable[..., StubPlugin]]:
    """Start a stub plugin in the kubelet's socket dir (stopped at teardown)."""
    made: list[StubPlugin] = []

    def make(*args, **kwargs) -> StubPlugin:
        plugin = StubPlugin(sockdir, *args, **kwargs).start()
        made.append(plugin)
        return plugin

    yield make
    for plugin in made:
        plugin.stop()


@pytest.fixture
def registered(kubelet: FakeKubelet, make_plugin: Callable[..., StubPlugin]) -> Callable[..., StubPlugin]:
    """Start a stub plugin, register it and wait until the kubelet has its devices."""

    def make(*args, **kwargs) -> StubPlugin:
        plugin = make_plugin(*args, **kwargs)
        since = kubelet.log.last_seq
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_event(
            "devices", since=since, where=lambda e: e.data["endpoint"] == plugin.endpoint, timeout=5
        )
        return plugin

    return make
