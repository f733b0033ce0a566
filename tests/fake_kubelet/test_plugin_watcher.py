"""Registration through the plugin watcher (probe mode): plugins_registry, GetInfo,
NotifyRegistrationStatus and the DEPRECATION file (manager_test.go *ProbeMode)."""

from __future__ import annotations

import os

import pytest

from deviceplugin.pluginregistration.v1 import api_pb2 as reg
from tests.fake_kubelet.stub_plugin import StubPlugin

GPU = "example.com/gpu"


def info(
    name: str = GPU, versions=("v1beta1",), kind: str = "DevicePlugin", endpoint: str = ""
) -> reg.PluginInfo:
    return reg.PluginInfo(type=kind, name=name, endpoint=endpoint, supported_versions=list(versions))


@pytest.fixture
def watched(make_kubelet, sockdir):
    registry = os.path.join(sockdir, "registry")
    plugins: list[StubPlugin] = []

    def make(endpoint: str = "stub.sock", devices=("Dev1", "Dev2"), **kwargs) -> StubPlugin:
        plugin = StubPlugin(
            registry, endpoint, devices=devices, watcher_info=kwargs.pop("watcher_info", info())
        )
        plugins.append(plugin)
        return plugin.start()

    kubelet = make_kubelet(plugins_registry=registry)
    yield kubelet, make
    for plugin in plugins:
        plugin.stop()


def notifications(plugin: StubPlugin) -> list[tuple[bool, str]]:
    plugin.wait_for_calls("NotifyRegistrationStatus")
    return [(n.plugin_registered, n.error) for n in plugin.notifications]


def test_installing_the_watcher_leaves_a_deprecation_file_beside_kubelet_sock(watched, sockdir):
    kubelet, _ = watched
    assert os.path.isfile(os.path.join(kubelet.socket_dir, "DEPRECATION"))


def test_a_socket_in_the_registry_is_registered_and_told_so(watched):
    # TestDevicePluginReRegistrationProbeMode: p1, then p2 with the same devices, then p3 with others.
    kubelet, make = watched
    p1 = make()
    kubelet.wait_for_allocatable(GPU, 2)
    assert notifications(p1) == [(True, "")]
    assert p1.count("Register") == 0 and p1.count("ListAndWatch") == 1
    since = kubelet.log.last_seq
    make("stub.sock.new")
    kubelet.wait_for_registration(GPU, since=since)
    assert kubelet.allocatable(GPU) == 2
    make("stub.sock.third", devices=["Dev3"])
    kubelet.wait_for_allocatable(GPU, 1)
    assert [d.id for d in kubelet.resource(GPU).devices] == ["Dev3"]


@pytest.mark.parametrize(
    ("plugin_info", "error"),
    [
        (
            info(versions=["v1alpha1"]),
            "RegisterPlugin error -- plugin validation failed with err: manager version, v1beta1, "
            "is not among plugin supported versions [v1alpha1]",
        ),
        (
            info(name="gpu"),
            "RegisterPlugin error -- plugin validation failed with err: "
            'invalid name of device plugin socket: the ResourceName "gpu" is invalid',
        ),
        (info(kind="CSIPlugin"), None),
    ],
)
def test_a_plugin_the_watcher_cannot_validate_is_told_why_and_never_served(watched, plugin_info, error):
    kubelet, make = watched
    plugin = make(watcher_info=plugin_info)
    ((registered, said),) = notifications(plugin)[:1]
    assert not registered
    if error is not None:
        assert said == error
    else:
        assert said.startswith("RegisterPlugin error -- no handler registered for plugin type: CSIPlugin")
    assert plugin.count("ListAndWatch") == 0
    assert GPU not in kubelet.resources()


def test_removing_the_socket_deregisters_the_plugin(watched):
    kubelet, make = watched
    plugin = make()
    kubelet.wait_for_allocatable(GPU, 2)
    os.unlink(plugin.socket_path)
    kubelet.wait_for_event("deregister")
    assert kubelet.allocatable(GPU) == 0 and kubelet.capacity(GPU) == 2


def test_a_kubelet_restart_registers_the_watched_plugins_again(watched):
    kubelet, make = watched
    plugin = make()
    kubelet.wait_for_allocatable(GPU, 2)
    kubelet.restart()  # its own socket dir is cleaned; plugins_registry is not
    kubelet.wait_for_allocatable(GPU, 2)
    assert plugin.count("ListAndWatch") == 2
