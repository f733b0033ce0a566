"""OverlayNVML: real NVML passed through, injected XID/ECC merged into its event sets."""

from __future__ import annotations

import threading

import pynvml
import pytest

from fake_nvml import FakeNVML, OverlayNVML, SimulationRequired

XID = pynvml.nvmlEventTypeXidCriticalError


@pytest.fixture
def overlay(node: FakeNVML, log):
    # A FakeNVML stands in for the real pynvml module.
    return OverlayNVML(node, clock=node.clock, log=log)


def test_queries_pass_through_to_the_real_module(overlay, node: FakeNVML) -> None:
    assert overlay.nvmlDeviceGetCount() == 4
    assert overlay.nvmlDeviceGetUUID(overlay.nvmlDeviceGetHandleByIndex(1)) == node.gpus[1].uuid
    assert overlay.NVMLError_Timeout is pynvml.NVMLError_Timeout


def test_injected_xids_reach_sets_where_the_device_is_registered(overlay, log) -> None:
    h = overlay.nvmlDeviceGetHandleByIndex(2)
    event_set = overlay.nvmlEventSetCreate()
    overlay.nvmlDeviceRegisterEvents(h, XID, event_set)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(event=overlay.nvmlEventSetWait(event_set, 60_000)))
    thread.start()
    assert overlay.inject_xid(2, 31) == 1
    thread.join(5)
    assert (box["event"].device, box["event"].eventData) == (h, 31)
    assert overlay.inject_xid(0, 31) == 0  # gpu0 is not registered anywhere
    assert [e.data["delivered"] for e in log.events(kind="xid")] == [1, 0]
    overlay.nvmlEventSetFree(event_set)


def test_real_events_are_merged_with_injected_ones(overlay, node: FakeNVML) -> None:
    event_set = overlay.nvmlEventSetCreate()
    overlay.nvmlDeviceRegisterEvents(overlay.nvmlDeviceGetHandleByIndex(0), XID | 0x2, event_set)
    node.inject_xid(0, 79)  # "real" NVML reports it
    assert overlay.nvmlEventSetWait(event_set, 5000).eventData == 79
    overlay.inject_ecc(0, double_bit=True)
    assert overlay.nvmlEventSetWait(event_set, 5000).eventType == 0x2
    with pytest.raises(pynvml.NVMLError_Timeout):
        overlay.nvmlEventSetWait(event_set, 0)
    overlay.nvmlEventSetFree(event_set)


def test_a_real_lost_gpu_surfaces_as_gpu_is_lost(overlay, node: FakeNVML) -> None:
    event_set = overlay.nvmlEventSetCreate()
    overlay.nvmlDeviceRegisterEvents(overlay.nvmlDeviceGetHandleByIndex(3), XID, event_set)
    node.lose_gpu(3)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        overlay.nvmlEventSetWait(event_set, 5000)


def test_faults_that_need_a_simulated_gpu_say_so(overlay) -> None:
    with pytest.raises(SimulationRequired, match=r"lose_gpu needs a simulated node \(--nvml sim:<spec>\)"):
        overlay.lose_gpu(0)


def test_registering_a_real_device_is_logged_as_the_simulated_node_logs_it(log) -> None:
    """Scenarios wait for node/events_registered before they inject (an XID before that reaches no set)."""
    real = FakeNVML.from_spec("2xH100")  # stands in for pynvml: it logs nothing into the scenario's log
    real.nvmlInit()
    overlay = OverlayNVML(real, clock=log.clock, log=log)
    event_set = overlay.nvmlEventSetCreate()
    overlay.nvmlDeviceRegisterEvents(overlay.nvmlDeviceGetHandleByIndex(1), XID, event_set)
    (event,) = log.events(source="node", kind="events_registered")
    assert (event.data["gpu"], event.data["uuid"], event.data["mask"]) == (1, real.gpus[1].uuid, XID)
    overlay.nvmlEventSetFree(event_set)
    real.close()
