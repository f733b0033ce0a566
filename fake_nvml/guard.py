"""Which NVML functions may reach a real GPU from the harness: those that only read.

On ``--nvml real`` the plugin under test gets real NVML through :class:`fake_nvml.OverlayNVML`,
and a test run must leave the machine as it found it: no resets, no MIG or clock changes, no
instances created or destroyed. The rule is an allow-list by the verb that follows the object in
pynvml's names (``nvmlDevice`` + ``Get`` + ``Uuid``), so a function pynvml adds later is refused
until someone reads it and lists its verb here; refused calls raise NVML's own NoPermission,
which every NVML consumer already handles (an unprivileged process meets it for most setters).
"""

from __future__ import annotations

import re

#: The objects pynvml's function names start with (longest first, so "GpuInstance" beats "Gpu").
OBJECTS = (
    "ComputeInstance",
    "GpuInstance",
    "VgpuInstance",
    "VgpuType",
    "Device",
    "System",
    "Unit",
    "Vgpu",
    "Gpm",
)
#: Verbs that read, wait or manage the caller's own handles; nothing else reaches a GPU.
READ_VERBS = frozenset(
    {
        "Get",  # nvmlDeviceGetUUID, nvmlGpuInstanceGetComputeInstances, ...
        "Query",  # nvmlDeviceQueryDrainState, nvmlGpmQueryDeviceSupport
        "Is",  # nvmlDeviceIsMigDeviceHandle
        "On",  # nvmlDeviceOnSameBoard
        "Register",  # nvmlDeviceRegisterEvents: the caller's event set
        "Event",  # nvmlEventSetCreate/Wait/Free, nvmlSystemEventSet*: the caller's event sets
        "Sample",  # nvmlGpmSampleAlloc/Free/Get: a buffer of the caller's
        "Metrics",  # nvmlGpmMetricsGet
        "Mig",  # nvmlGpmMigSampleGet
        "Perf",  # nvmlDevicePerfMetricsGetSamples_v1
        "Validate",  # nvmlDeviceValidateInforom: a checksum check
        "Init",
        "Shutdown",
        "Error",  # nvmlErrorString
    }
)
#: Functions whose verb reads but that write (nvmlDeviceReadWritePRM_v1 writes registers).
WRITES_DESPITE_VERB = frozenset({"nvmlDeviceReadWritePRM_v1"})
#: Exceptions the other way: read-only functions in a family that otherwise changes state.
READS_DESPITE_VERB = frozenset(
    {
        "nvmlDeviceReadPRMCounters_v1",
        "nvmlDeviceWorkloadPowerProfileGetCurrentProfiles",
        "nvmlDeviceWorkloadPowerProfileGetProfilesInfo",
        "nvmlInitWithFlags",
        # pynvml's own Python helpers, not NVML calls
        "nvmlExceptionClass",
        "nvmlFriendlyObject",
        "nvmlFriendlyObjectToStruct",
        "nvmlStructToFriendlyObject",
    }
)

_VERB = re.compile(r"[A-Z][a-z]*")


def verb(name: str) -> str:
    """The verb of a pynvml function name (``nvmlDeviceSetMigMode`` -> ``Set``)."""
    rest = name.removeprefix("nvml")
    for obj in OBJECTS:
        if rest.startswith(obj):
            rest = rest[len(obj) :]
            break
    match = _VERB.match(rest)
    return match.group(0) if match else rest


def changes_gpu(name: str) -> bool:
    """Whether calling pynvml's ``name`` may change a GPU (reset, MIG, clocks, instances, ...)."""
    if not name.startswith("nvml") or name.endswith("_t") or name in READS_DESPITE_VERB:
        return False
    if name in WRITES_DESPITE_VERB:
        return True
    return verb(name) not in READ_VERBS
