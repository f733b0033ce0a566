"""Event sets behave like NVML's: masks, queues per set, waits woken by injections (every backend)."""

from __future__ import annotations

import threading

import pynvml
import pytest

from fake_nvml import NOT_ATTRIBUTABLE, FakeNVML
from tests.fake_nvml.conftest import same

XID = pynvml.nvmlEventTypeXidCriticalError
ECC = pynvml.nvmlEventTypeDoubleBitEccError | pynvml.nvmlEventTypeSingleBitEccError


def _waiter(nvml, event_set, timeout_ms: int):
    """Start a wait on another thread; returns (started, result box, thread)."""
    box: dict = {}

    def run() -> None:
        try:
            box["event"] = nvml.nvmlEventSetWait(event_set, timeout_ms)
        except pynvml.NVMLError as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return box, thread


def test_a_blocked_wait_returns_the_injected_xid_record(node: FakeNVML, nvml) -> None:
    h = nvml.nvmlDeviceGetHandleByIndex(1)
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(h, XID | ECC, event_set)
    box, thread = _waiter(nvml, event_set, 60_000)
    node.inject_xid(1, 79)
    thread.join(5)
    event = box["event"]
    assert same(event.device, h) and (event.eventType, event.eventData) == (XID, 79)
    assert event.gpuInstanceId == event.computeInstanceId == NOT_ATTRIBUTABLE


def test_mig_attributed_xid_carries_gpu_and_compute_instance(node: FakeNVML, nvml) -> None:
    node.enable_mig(0, ["1g.10gb", "1g.10gb"])
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(0), XID, event_set)
    gi = node.gpus[0].mig_devices[1].gi
    node.inject_xid(0, 94, gi=gi, ci=0)
    event = nvml.nvmlEventSetWait(event_set, 0)
    assert (event.eventData, event.gpuInstanceId, event.computeInstanceId) == (94, gi, 0)
    with pytest.raises(ValueError, match="has no MIG device gi=42"):
        node.inject_xid(0, 94, gi=42)


def test_ecc_events_distinguish_single_and_double_bit(node: FakeNVML, nvml) -> None:
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(0), ECC, event_set)
    node.inject_ecc(0)
    node.inject_ecc(0, double_bit=True)
    kinds = [nvml.nvmlEventSetWait(event_set, 0).eventType for _ in range(2)]
    assert kinds == [pynvml.nvmlEventTypeSingleBitEccError, pynvml.nvmlEventTypeDoubleBitEccError]


def test_events_before_registration_and_of_unregistered_types_are_not_delivered(node: FakeNVML, nvml) -> None:
    event_set = nvml.nvmlEventSetCreate()
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    node.inject_xid(0, 13)
    nvml.nvmlDeviceRegisterEvents(h, pynvml.nvmlEventTypeSingleBitEccError, event_set)
    node.inject_xid(0, 31)
    node.inject_xid(1, 31)
    with pytest.raises(pynvml.NVMLError_Timeout):
        nvml.nvmlEventSetWait(event_set, 0)


def test_each_set_has_its_own_queue(node: FakeNVML, nvml) -> None:
    h = nvml.nvmlDeviceGetHandleByIndex(2)
    first, second = nvml.nvmlEventSetCreate(), nvml.nvmlEventSetCreate()
    for event_set in (first, second):
        nvml.nvmlDeviceRegisterEvents(h, XID, event_set)
    assert node.inject_xid(2, 48) == 2
    assert nvml.nvmlEventSetWait(first, 0).eventData == 48
    assert nvml.nvmlEventSetWait(second, 0).eventData == 48
    with pytest.raises(pynvml.NVMLError_Timeout):
        nvml.nvmlEventSetWait(first, 0)


def test_registering_an_unsupported_type_raises_not_supported_and_registers_nothing(
    node: FakeNVML, nvml
) -> None:
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    assert nvml.nvmlDeviceGetSupportedEventTypes(h) == 0xFF9F
    event_set = nvml.nvmlEventSetCreate()
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceRegisterEvents(h, XID | 0x20, event_set)
    node.inject_xid(0, 79)
    with pytest.raises(pynvml.NVMLError_Timeout):
        nvml.nvmlEventSetWait(event_set, 0)


def test_a_timeout_on_the_clock_ends_when_the_clock_advances(node: FakeNVML, nvml, clock) -> None:
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(0), XID, event_set)
    box, thread = _waiter(nvml, event_set, 3_600_000)  # an hour, in virtual time
    thread.join(0.05)
    assert thread.is_alive()
    clock.advance(3600)
    thread.join(5)
    assert isinstance(box["error"], pynvml.NVMLError_Timeout)


def test_losing_a_gpu_wakes_waits_on_sets_it_is_registered_in(node: FakeNVML, nvml) -> None:
    lost_set, other_set = nvml.nvmlEventSetCreate(), nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(3), XID, lost_set)
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(0), XID, other_set)
    lost_box, lost_thread = _waiter(nvml, lost_set, 60_000)
    node.lose_gpu(3)
    lost_thread.join(5)
    assert isinstance(lost_box["error"], pynvml.NVMLError_GpuIsLost)
    with pytest.raises(pynvml.NVMLError_Timeout):
        nvml.nvmlEventSetWait(other_set, 0)
    node.recover_gpu(3)
    with pytest.raises(pynvml.NVMLError_Timeout):
        nvml.nvmlEventSetWait(lost_set, 0)


def test_events_queued_before_the_loss_are_delivered_first(node: FakeNVML, nvml) -> None:
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(1), XID, event_set)
    node.inject_xid(1, 79)
    node.lose_gpu(1)
    assert nvml.nvmlEventSetWait(event_set, 0).eventData == 79
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        nvml.nvmlEventSetWait(event_set, 0)


def test_a_freed_set_is_invalid(node: FakeNVML, nvml) -> None:
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlEventSetFree(event_set)
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nvml.nvmlEventSetWait(event_set, 0)


def test_many_waiters_on_many_sets_each_get_their_events(node: FakeNVML, nvml) -> None:
    sets = [nvml.nvmlEventSetCreate() for _ in range(4)]
    for gpu, event_set in enumerate(sets):
        nvml.nvmlDeviceRegisterEvents(nvml.nvmlDeviceGetHandleByIndex(gpu), XID, event_set)
    results: list[list[int]] = [[] for _ in sets]

    def drain(k: int) -> None:
        for _ in range(25):
            results[k].append(nvml.nvmlEventSetWait(sets[k], 10_000).eventData)

    threads = [threading.Thread(target=drain, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for xid in range(25):
        for gpu in range(4):
            node.inject_xid(gpu, 100 + xid)
    for t in threads:
        t.join(10)
    assert results == [list(range(100, 125))] * 4


def test_mig_reconfiguration_raises_a_mig_config_change_event(node: FakeNVML, nvml) -> None:
    event_set = nvml.nvmlEventSetCreate()
    nvml.nvmlDeviceRegisterEvents(
        nvml.nvmlDeviceGetHandleByIndex(0), pynvml.nvmlEventMigConfigChange, event_set
    )
    node.enable_mig(0, ["7g.80gb"])
    assert nvml.nvmlEventSetWait(event_set, 0).eventType == pynvml.nvmlEventMigConfigChange
