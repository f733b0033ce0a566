"""MIG strategies: which devices each resource gets, with NVIDIA's names and validation errors.

``none``: every GPU is ``nvidia.com/gpu`` (MIG-enabled GPUs too, as whole GPUs).
``single``: MIG devices are ``nvidia.com/gpu``; all must be of one type, and a node may not mix
MIG-enabled and MIG-disabled GPUs. ``mixed``: whole GPUs are ``nvidia.com/gpu`` and each MIG profile
whose compute slices equal its GPU slices is ``nvidia.com/mig-<profile>`` (``+`` → ``.``).
"""

from __future__ import annotations

from plugin.discovery import DiscoveredGpu, MigInfo
from plugin.errors import InitError
from plugin.resources import DEFAULT_RESOURCE, Device, mig_resource_name


def gpu_device(gpu: DiscoveredGpu) -> Device:
    return Device(
        id=gpu.uuid,
        uuid=gpu.uuid,
        index=str(gpu.index),
        gpu_uuid=gpu.uuid,
        gpu_index=gpu.index,
        minor=gpu.minor,
        pci_bus_id=gpu.pci_bus_id,
        numa_node=gpu.numa_node,
    )


def mig_device(gpu: DiscoveredGpu, mig: MigInfo) -> Device:
    return Device(
        id=mig.uuid,
        uuid=mig.uuid,
        index=f"{gpu.index}:{mig.index}",
        gpu_uuid=gpu.uuid,
        gpu_index=gpu.index,
        minor=gpu.minor,
        pci_bus_id=gpu.pci_bus_id,
        numa_node=gpu.numa_node,
        gi=mig.gi,
        ci=mig.ci,
    )


def _check_mig_enabled_gpus(gpus: list[DiscoveredGpu], uniform: bool, warnings: list[str]) -> None:
    for gpu in gpus:
        if gpu.mig_enabled and not gpu.migs:
            message = f"device {gpu.index} has no MIG devices configured"
            if uniform:
                raise InitError(
                    "invalid MIG configuration: at least one device with migEnabled=true "
                    f"was not configured correctly: {message}"
                )
            warnings.append(message)


def resources_for_strategy(
    gpus: list[DiscoveredGpu], strategy: str, warnings: list[str]
) -> dict[str, list[Device]]:
    """Resource name → devices, in a stable order (GPU index, then MIG slot)."""
    resources: dict[str, list[Device]] = {}
    if strategy == "none":
        if gpus:
            resources[DEFAULT_RESOURCE] = [gpu_device(g) for g in gpus]
        return resources
    if strategy not in ("single", "mixed"):
        raise InitError(f"unknown MIG strategy: {strategy!r}")
    uniform = strategy == "single"
    _check_mig_enabled_gpus(gpus, uniform, warnings)
    full = [gpu_device(g) for g in gpus if not g.mig_enabled]
    migs = [(g, m) for g in gpus if g.mig_enabled for m in g.migs]
    if uniform:
        if len({m.profile for _, m in migs}) > 1:
            raise InitError("invalid MIG configuration: more than one MIG device type present on node")
        if full and migs:
            raise InitError("all devices on the node must be configured with the same migEnabled value")
        devices = full + [mig_device(g, m) for g, m in migs]
        if devices:
            resources[DEFAULT_RESOURCE] = devices
        return resources
    if full:
        resources[DEFAULT_RESOURCE] = full
    for gpu, mig in migs:
        if not mig.whole_instance:
            warnings.append(
                f"MIG device {mig.uuid} ({mig.profile}) on GPU {gpu.index} is a compute-instance "
                "slice; mixed strategy exposes only whole GPU instances"
            )
            continue
        resources.setdefault(mig_resource_name(mig.profile), []).append(mig_device(gpu, mig))
    return resources
