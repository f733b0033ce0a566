"""The Tegra (Jetson) device, served as NVIDIA's v0.20 serves it (internal/rm tegra_devices.go).

NVIDIA's tegra resource manager asks nothing of NVML or of the machine: it serves exactly one
device whose ID and UUID are the literal ``tegra`` (index ``0``) as ``nvidia.com/gpu``, and sharing
replicates it (``tegra::0`` … with 4 replicas), which is why it serves ``tegra::0..3`` even on a
machine without GPUs. Its resource manager is NVIDIA's base one: no health checks, no device nodes
(``--pass-device-specs`` passes none, not even the control nodes), no NUMA topology, and
GetPreferredAllocation is the greedy replica allocator with the ``distributed`` policy whatever
``--shared-devices-allocation-policy`` says.
"""

from __future__ import annotations

from plugin.resources import DEFAULT_RESOURCE, Device

TEGRA_ID = "tegra"


def tegra_device() -> Device:
    return Device(
        id=TEGRA_ID,
        uuid=TEGRA_ID,
        index="0",
        gpu_uuid=TEGRA_ID,
        gpu_index=0,
        minor=0,  # unused: a tegra device has no /dev/nvidia<minor> of its own
        pci_bus_id="",
    )


def tegra_resources() -> dict[str, list[Device]]:
    """Resource name → devices, as :func:`plugin.mig.resources_for_strategy` gives them for NVML."""
    return {DEFAULT_RESOURCE: [tegra_device()]}
