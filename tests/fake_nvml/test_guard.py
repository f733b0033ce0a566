"""On real NVML the harness passes reads through and never lets a call change a GPU."""

from __future__ import annotations

from typing import Any

import pynvml
import pytest

from fake_nvml import FakeNVML, OverlayNVML
from fake_nvml.guard import READ_VERBS, changes_gpu, verb

FUNCTIONS = sorted(
    n
    for n in dir(pynvml)
    if n.startswith("nvml")
    and n[4:5].isupper()
    and callable(v := getattr(pynvml, n))
    and not isinstance(v, type)
)


class Spy:
    """Stands in for the real pynvml module and remembers which functions were called."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.called: list[str] = []

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.real, name)
        if not callable(value) or isinstance(value, type):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            self.called.append(name)
            return value(*args, **kwargs)

        return call


@pytest.mark.parametrize(
    "name",
    [
        "nvmlDeviceResetGpuLockedClocks",
        "nvmlDeviceSetMigMode",
        "nvmlDeviceCreateGpuInstance",
        "nvmlGpuInstanceCreateComputeInstance",
        "nvmlGpuInstanceDestroy",
        "nvmlComputeInstanceDestroy",
        "nvmlDeviceSetPersistenceMode",
        "nvmlDeviceSetPowerManagementLimit",
        "nvmlDeviceClearEccErrorCounts",
        "nvmlDeviceModifyDrainState",
        "nvmlDeviceRemoveGpu",
        "nvmlDeviceReadWritePRM_v1",
        "nvmlGpmSetStreamingEnabled",
    ],
)
def test_calls_that_change_a_gpu_never_reach_real_nvml(name: str, node: FakeNVML, log) -> None:
    spy = Spy(node)
    overlay = OverlayNVML(spy, clock=node.clock, log=log)
    with pytest.raises(pynvml.NVMLError_NoPermission):
        getattr(overlay, name)(object(), 1)
    assert name not in spy.called
    (event,) = log.events(source="node", kind="refused")
    assert event.data["function"] == name


def test_reads_and_event_waits_pass_through(node: FakeNVML, log) -> None:
    spy = Spy(node)
    overlay = OverlayNVML(spy, clock=node.clock, log=log)
    handle = overlay.nvmlDeviceGetHandleByIndex(0)
    overlay.nvmlDeviceGetMigMode(handle)
    overlay.nvmlDeviceGetUUID(handle)
    overlay.nvmlDeviceGetGpuInstanceProfileInfo(handle, 0)
    assert {"nvmlDeviceGetHandleByIndex", "nvmlDeviceGetMigMode", "nvmlDeviceGetUUID"} <= set(spy.called)
    assert not log.events(kind="refused")


def test_every_pynvml_function_is_sorted_into_reads_or_changes() -> None:
    """A new pynvml function is refused unless its verb reads; the known families land where they should."""
    refused = {n for n in FUNCTIONS if changes_gpu(n)}
    assert not {n for n in refused if verb(n) == "Get"}
    for family in ("Set", "Reset", "Clear", "Create", "Destroy"):
        assert {n for n in FUNCTIONS if verb(n) == family} <= refused, family
    assert {n for n in FUNCTIONS if n not in refused and verb(n) not in READ_VERBS} <= {
        "nvmlDeviceReadPRMCounters_v1",
        "nvmlDeviceWorkloadPowerProfileGetCurrentProfiles",
        "nvmlDeviceWorkloadPowerProfileGetProfilesInfo",
        "nvmlInitWithFlags",
        "nvmlExceptionClass",
        "nvmlFriendlyObject",
        "nvmlFriendlyObjectToStruct",
        "nvmlStructToFriendlyObject",
    }
    assert len(refused) >= 75  # 77 in pynvml 13.615: Set, Clear, Reset, Create, Destroy and the rest
