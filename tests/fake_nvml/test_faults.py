"""Fault injection on a running node: thread-safe, logged, and on the scenario's clock."""

from __future__ import annotations

import threading

import pynvml
import pytest

from fake_nvml import FakeNVML


def test_a_lost_gpu_raises_gpu_is_lost_until_recovered_and_both_are_logged(node: FakeNVML, log) -> None:
    h = node.nvmlDeviceGetHandleByIndex(2)
    node.lose_gpu(2)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        node.nvmlDeviceGetUUID(h)
    assert node.nvmlDeviceGetUUID(node.nvmlDeviceGetHandleByIndex(1))  # the others still answer
    node.recover_gpu(2)
    assert node.nvmlDeviceGetUUID(h) == node.gpus[2].uuid
    assert [(e.kind, e.data["gpu"]) for e in log.events(source="node")] == [
        ("gpu_lost", 2),
        ("gpu_recovered", 2),
    ]


def test_fail_calls_fails_the_next_n_calls_with_the_given_error(node: FakeNVML, log) -> None:
    node.fail_calls("nvmlDeviceGetCount", pynvml.NVML_ERROR_DRIVER_NOT_LOADED, count=2)
    for _ in range(2):
        with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
            node.nvmlDeviceGetCount()
    assert node.nvmlDeviceGetCount() == 4
    assert log.events(kind="fail_calls")[0].data == {"function": "nvmlDeviceGetCount", "error": 9, "count": 2}


def test_fail_calls_accepts_error_names_and_refuses_unknown_functions(node: FakeNVML) -> None:
    node.fail_calls("nvmlDeviceGetName", "GPU_IS_LOST", count=None)
    for _ in range(3):
        with pytest.raises(pynvml.NVMLError_GpuIsLost):
            node.nvmlDeviceGetName(node.nvmlDeviceGetHandleByIndex(0))
    with pytest.raises(ValueError, match="did you mean nvmlDeviceGetCount"):
        node.fail_calls("nvmlDeviceGetCont")


def test_added_latency_runs_on_the_clock(node: FakeNVML, clock) -> None:
    node.add_latency("nvmlDeviceGetCount", 600)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (node.nvmlDeviceGetCount(), done.set()), daemon=True)
    thread.start()
    assert not done.wait(0.05)
    clock.advance(600)
    assert done.wait(5)


def test_init_failure_modes(clock) -> None:
    node = FakeNVML.from_spec("1xH100", clock=clock)
    node.fail_init("library_not_found")
    with pytest.raises(pynvml.NVMLError_LibraryNotFound):
        node.nvmlInit()
    node.fail_init("driver_not_loaded")
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        node.nvmlInitWithFlags(0)
    node.fail_init(None)
    node.nvmlInit()
    with pytest.raises(ValueError, match="library_not_found"):
        node.fail_init("no_such_mode")


def test_hidden_gpus_leave_the_count_and_later_indices_shift(node: FakeNVML) -> None:
    third = node.gpus[2].uuid
    node.hide_gpu(1)
    assert node.nvmlDeviceGetCount() == 3
    assert node.nvmlDeviceGetUUID(node.nvmlDeviceGetHandleByIndex(1)) == third
    with pytest.raises(pynvml.NVMLError_NotFound):
        node.nvmlDeviceGetHandleByUUID(node.gpus[1].uuid)
    node.unhide_gpu(1)
    assert node.nvmlDeviceGetCount() == 4


def test_unsupported_events_make_registration_fail(node: FakeNVML) -> None:
    node.unsupported_events(0)
    h = node.nvmlDeviceGetHandleByIndex(0)
    assert node.nvmlDeviceGetSupportedEventTypes(h) == 0
    with pytest.raises(pynvml.NVMLError_NotSupported):
        node.nvmlDeviceRegisterEvents(h, pynvml.nvmlEventTypeXidCriticalError, node.nvmlEventSetCreate())


def test_injections_name_missing_gpus_clearly(node: FakeNVML) -> None:
    with pytest.raises(ValueError, match=r"GPU 7 does not exist: the node has 4 GPUs \(gpu0\.\.gpu3\)"):
        node.inject_xid(7, 79)


def test_gpus_can_be_named_by_uuid(node: FakeNVML) -> None:
    node.lose_gpu(node.gpus[3].uuid)
    assert node.gpus[3].lost


def test_scheduled_injections_fire_when_the_clock_passes_them(node: FakeNVML, clock, log) -> None:
    node.schedule(clock.now() + 300, "inject_xid", gpu=1, xid=48)
    node.schedule(clock.now() + 600, "lose_gpu", gpu=1)
    clock.advance(301)
    assert [e.kind for e in log.events(source="node")] == ["xid"]
    clock.advance(300)
    assert [e.kind for e in log.events(source="node")] == ["xid", "gpu_lost"]
    with pytest.raises(ValueError, match=r"not an injection.*Did you mean inject_xid"):
        node.schedule(1, "inject_xdi")


def test_a_failing_scheduled_injection_is_logged_not_lost(node: FakeNVML, clock, log) -> None:
    node.schedule(clock.now() + 1, "inject_xid", gpu=9, xid=48)
    clock.advance(2)
    assert "GPU 9 does not exist" in log.events(kind="schedule_failed")[0].data["error"]


def test_each_injected_failure_that_fires_is_a_node_event(node: FakeNVML, log) -> None:
    node.fail_calls("nvmlDeviceGetCount", "GPU_IS_LOST", count=2)
    for _ in range(2):
        with pytest.raises(pynvml.NVMLError_GpuIsLost):
            node.nvmlDeviceGetCount()
    node.nvmlDeviceGetCount()
    fired = [e.data for e in log.events(kind="call_failed")]
    assert fired == [
        {"function": "nvmlDeviceGetCount", "error": "GPU is lost", "remaining": 1},
        {"function": "nvmlDeviceGetCount", "error": "GPU is lost", "remaining": 0},
    ]


def test_a_call_fault_covers_the_versioned_symbols_a_client_calls(node: FakeNVML, nvml) -> None:
    # Through the shim, pynvml's nvmlEventSetWait is the C nvmlEventSetWait_v2 and nvmlDeviceGetCount
    # is nvmlDeviceGetCount_v2: a fault on the function's name must still reach them.
    event_set = nvml.nvmlEventSetCreate()
    node.fail_calls("nvmlEventSetWait", "GPU_IS_LOST", count=1)
    node.fail_calls("nvmlDeviceGetCount", "UNKNOWN", count=1)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        nvml.nvmlEventSetWait(event_set, 0)
    with pytest.raises(pynvml.NVMLError_Unknown):
        nvml.nvmlDeviceGetCount()
    assert nvml.nvmlDeviceGetCount() == 4
    node.fail_calls("nvmlEventSetWait_v2", "UNKNOWN", count=1)  # the versioned name alone
    with pytest.raises(pynvml.NVMLError_Unknown):
        nvml.nvmlEventSetWait_v2(event_set, 0)
