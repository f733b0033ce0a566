"""allocatedResourcesStatus (KEP-4680) behind the ResourceHealthStatus feature gate."""

from __future__ import annotations

import pytest

from fake_kubelet import Container, Pod
from fake_kubelet.versions import feature_gates
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def status_of(kubelet, pod: str = "p") -> list[dict] | None:
    return kubelet.pod_status(pod).container("app").allocated_resources_status


def test_without_the_gate_the_field_is_absent(registered, kubelet):
    registered(devices=["testdevice"])
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    assert status_of(kubelet) is None


def test_a_held_device_reports_healthy_then_unhealthy_as_the_plugin_says(make_kubelet, make_plugin):
    # device_plugin_failures_pod_status_test "will report a Healthy and then Unhealthy single device".
    kubelet = make_kubelet(version="1.31", feature_gates={"ResourceHealthStatus": True})
    plugin = make_plugin(devices=["testdevice"])
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 1)
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    assert status_of(kubelet) == [
        {"name": GPU, "resources": [{"resourceID": "testdevice", "health": "Healthy"}]}
    ]
    since = kubelet.log.last_seq
    plugin.set_devices([device("testdevice", health="Unhealthy")])
    event = kubelet.wait_for_event("pod_status", since=since)
    assert event.data["allocated_resources_status"]["app"][0]["resources"][0]["health"] == "Unhealthy"
    assert status_of(kubelet)[0]["resources"] == [{"resourceID": "testdevice", "health": "Unhealthy"}]


def test_a_lost_stream_keeps_the_last_reported_health(make_kubelet, make_plugin):
    kubelet = make_kubelet(feature_gates={"ResourceHealthStatus": True})
    plugin = make_plugin(devices=["testdevice"])
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 1)
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    plugin.stop()
    kubelet.wait_for_allocatable(GPU, 0)
    assert status_of(kubelet)[0]["resources"][0]["health"] == "Healthy"


def test_the_gate_exists_from_1_31_and_is_off_by_default():
    assert "ResourceHealthStatus" not in feature_gates("1.30")
    assert feature_gates("1.31")["ResourceHealthStatus"] is False
    assert feature_gates("1.34")["KubeletPodResourcesGet"] is True
    with pytest.raises(ValueError, match=r"does not exist in kubelet 1\.30; it appeared in 1\.31"):
        feature_gates("1.30", {"ResourceHealthStatus": True})
    with pytest.raises(ValueError, match="unknown kubelet version"):
        feature_gates("1.99")
