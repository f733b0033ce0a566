"""Running pods through kubelet restarts, node reboots, faults, completion and deletion."""

from __future__ import annotations

import pytest

from fake_kubelet import Container, Pod
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def pod(name: str = "p", n: int = 1) -> Pod:
    return Pod(name, [Container("app", {GPU: n})])


def readmissions(kubelet) -> list[dict]:
    return [e.data for e in kubelet.log.events(kind="admit") if e.data["readmission"]]


def test_a_restart_admits_running_pods_again_without_any_plugin_call(registered, kubelet):
    plugin = registered(devices=["a", "b"])
    kubelet.admit(pod())
    kubelet.restart()
    assert [(d["pod"], d["admitted"]) for d in readmissions(kubelet)] == [("p", True)]
    assert plugin.count("Allocate") == 1
    assert kubelet.pod_status("p").phase == "Running"


def test_after_a_node_reboot_a_pod_whose_plugin_has_not_registered_fails_admission(registered, kubelet):
    registered(devices=["a", "b"])
    kubelet.admit(pod())
    kubelet.reboot()
    status = kubelet.pod_status("p")
    assert (status.phase, status.reason) == ("Failed", "UnexpectedAdmissionError")
    assert status.message == (
        "Allocate failed due to no healthy devices present; cannot allocate unhealthy devices "
        "example.com/gpu, which is unexpected"
    )
    assert kubelet.pods() == []
    assert kubelet.allocated_devices(GPU) == set()


def test_a_stopped_container_whose_device_turned_unhealthy_fails_readmission_once_the_plugin_is_back(
    make_kubelet, make_plugin, clock
):
    kubelet = make_kubelet(readmit_delay=5.0)
    plugin = make_plugin(devices=["a", "b"])
    plugin.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 2)
    (held,) = kubelet.admit(pod()).devices("app", GPU)
    kubelet.stop_container("p", "app")
    kubelet.restart()
    plugin.stop()
    again = make_plugin(devices=[device(d, health="Unhealthy" if d == held else "Healthy") for d in "ab"])
    again.register(kubelet.socket_path)
    kubelet.wait_for_allocatable(GPU, 1)
    clock.advance(5)
    event = kubelet.wait_for_event("admit", where=lambda e: e.data["readmission"])
    assert event.data["message"] == (
        "Allocate failed due to previously allocated devices are no longer healthy; cannot allocate "
        "unhealthy devices example.com/gpu, which is unexpected"
    )


def test_a_succeeded_pod_is_not_admitted_again_after_a_restart(registered, kubelet):
    plugin = registered(devices=["a"])
    kubelet.admit(pod())
    kubelet.complete_pod("p")
    plugin.stop()
    kubelet.restart()
    assert readmissions(kubelet) == []
    assert kubelet.pod_status("p").phase == "Succeeded"
    assert kubelet.allocated_devices(GPU) == set()


def test_a_pod_deleted_while_the_kubelet_is_down_leaves_its_devices_to_the_next_allocation(
    registered, kubelet
):
    registered(devices=["a"])
    kubelet.admit(pod("gone"))
    kubelet.stop()
    kubelet.delete_pod("gone")
    (deleted,) = kubelet.log.events(kind="pod_deleted")
    assert deleted.data["kubelet_down"]
    kubelet.start()
    assert kubelet.allocated_devices(GPU) == {"a"}  # read back from the checkpoint
    registered(devices=["a"])
    assert kubelet.admit(pod("next")).devices("app", GPU) == ["a"]


def test_a_fault_on_a_held_device_lowers_allocatable_and_stays_after_the_pod_is_deleted(registered, kubelet):
    plugin = registered(devices=["a", "b"])
    (held,) = kubelet.admit(pod()).devices("app", GPU)
    plugin.set_devices([device(d, health="Unhealthy" if d == held else "Healthy") for d in "ab"])
    kubelet.wait_for_allocatable(GPU, 1)
    assert kubelet.pod_status("p").phase == "Running"
    kubelet.delete_pod("p")
    assert (kubelet.capacity(GPU), kubelet.allocatable(GPU)) == (2, 1)


def test_completing_with_an_unknown_phase_is_refused(registered, kubelet):
    registered(devices=["a"])
    kubelet.admit(pod())
    with pytest.raises(ValueError, match="Succeeded or Failed"):
        kubelet.complete_pod("p", "Done")
