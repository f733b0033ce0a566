"""Record a machine through pynvml into a node profile that ``FakeNVML.from_spec`` replays.

Written only against pynvml's API, so it reads real NVML, a ``FakeNVML`` or a socket client
alike. Products are written inline (everything NVML told us, MIG profiles included), so a
machine with a product the catalog lacks still replays exactly.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import yaml

from fake_nvml.catalog import product as catalog_product

MIB = 1024 * 1024


def _try(nvml: Any, fn: str, *args: Any) -> tuple[bool, Any]:
    """(True, value), or (False, None) when NVML answers NotSupported (or lacks the function)."""
    try:
        return True, getattr(nvml, fn)(*args)
    except nvml.NVMLError as exc:
        if exc.value in (
            nvml.NVML_ERROR_NOT_SUPPORTED,
            nvml.NVML_ERROR_FUNCTION_NOT_FOUND,
            nvml.NVML_ERROR_INVALID_ARGUMENT,
        ):
            return False, None
        raise


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _mig_profiles(nvml: Any, handle: Any) -> list[dict[str, Any]]:
    found = []
    for pid in range(nvml.NVML_GPU_INSTANCE_PROFILE_COUNT):
        ok, info = _try(nvml, "nvmlDeviceGetGpuInstanceProfileInfo", handle, pid)
        if ok:
            found.append(info)
    if not found:
        return []
    slots = 8 if max(i.sliceCount for i in found) >= 7 else max(i.sliceCount for i in found)
    biggest = max(i.memorySizeMB for i in found)
    return [
        {
            "id": int(i.id),
            "name": _text(i.name).removeprefix("MIG "),
            "instance_count": int(i.instanceCount),
            "memory_mib": int(i.memorySizeMB),
            "slices": int(i.sliceCount),
            "width": max(1, round(i.memorySizeMB * slots / biggest)),
            "sm_count": int(i.multiprocessorCount),
        }
        for i in found
    ]


def _product(nvml: Any, handle: Any, name: str, mig_profiles: list[dict[str, Any]]) -> dict[str, Any]:
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    pci = nvml.nvmlDeviceGetPciInfo(handle)
    links = sum(
        1
        for link in range(nvml.NVML_NVLINK_MAX_LINKS)
        if _try(nvml, "nvmlDeviceGetNvLinkState", handle, link)[0]
    )
    body: dict[str, Any] = {
        "name": name,
        "memory_mib": int(memory.total) // MIB,
        "cuda_cc": list(nvml.nvmlDeviceGetCudaComputeCapability(handle)),
        "pci_device_id": int(pci.pciDeviceId),
        "pci_subsystem_id": int(pci.pciSubSystemId),
    }
    for key, fn in (
        ("architecture", "nvmlDeviceGetArchitecture"),
        ("brand", "nvmlDeviceGetBrand"),
        ("power_limit_mw", "nvmlDeviceGetPowerManagementLimit"),
        ("supported_events", "nvmlDeviceGetSupportedEventTypes"),
    ):
        ok, value = _try(nvml, fn, handle)
        if ok:
            body[key] = int(value)
    body["nvlinks"] = links
    if mig_profiles:
        try:
            default_max = catalog_product(name).max_mig_devices
        except ValueError:
            default_max = max(p["instance_count"] for p in mig_profiles)
        ok, count = _try(nvml, "nvmlDeviceGetMaxMigDeviceCount", handle)
        body["max_mig_devices"] = int(count) if ok and count else default_max
    body["mig_profiles"] = mig_profiles
    return body


def _mig_devices(nvml: Any, handle: Any, max_count: int) -> list[dict[str, Any]]:
    devices = []
    for index in range(max_count):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, index)
        except nvml.NVMLError as exc:
            if exc.value == nvml.NVML_ERROR_NOT_FOUND:
                continue
            raise
        name = _text(nvml.nvmlDeviceGetName(mig))
        devices.append(
            {
                "profile": name.rsplit(" MIG ", 1)[-1],
                "gi": int(nvml.nvmlDeviceGetGpuInstanceId(mig)),
                "ci": int(nvml.nvmlDeviceGetComputeInstanceId(mig)),
                "uuid": _text(nvml.nvmlDeviceGetUUID(mig)),
            }
        )
    return devices


def record_node(nvml: Any) -> dict[str, Any]:
    """Read every GPU of the machine behind ``nvml`` (pynvml or a drop-in) into a profile dict."""
    nvml.nvmlInit()
    try:
        profile: dict[str, Any] = {
            "driver_version": _text(nvml.nvmlSystemGetDriverVersion()),
            "cuda_driver_version": int(nvml.nvmlSystemGetCudaDriverVersion()),
        }
        ok, version = _try(nvml, "nvmlSystemGetNVMLVersion")
        if ok:
            profile["nvml_version"] = _text(version)
        products: dict[str, dict[str, Any]] = {}
        gpus: list[dict[str, Any]] = []
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        bus_ids = [_text(nvml.nvmlDeviceGetPciInfo(h).busId) for h in handles]
        numa: list[int] | None = []
        pairs: set[tuple[int, int]] = set()
        nvlink_ok = False
        for index, handle in enumerate(handles):
            name = _text(nvml.nvmlDeviceGetName(handle))
            if name not in products:
                products[name] = _product(nvml, handle, name, _mig_profiles(nvml, handle))
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            gpu: dict[str, Any] = {
                "product": name,
                "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
                "pci_bus_id": bus_ids[index],
                "minor": int(nvml.nvmlDeviceGetMinorNumber(handle)),
                "memory_used_mib": int(memory.used) // MIB,
            }
            ok, serial = _try(nvml, "nvmlDeviceGetSerial", handle)
            if ok:
                gpu["serial"] = _text(serial)
            ok, part = _try(nvml, "nvmlDeviceGetBoardPartNumber", handle)
            if ok and part:
                gpu["board_part_number"] = _text(part)
            ok, mode = _try(nvml, "nvmlDeviceGetMigMode", handle)
            if ok and mode[0] == nvml.NVML_DEVICE_MIG_ENABLE:
                count = nvml.nvmlDeviceGetMaxMigDeviceCount(handle)
                gpu["mig"] = {"enabled": True, "devices": _mig_devices(nvml, handle, int(count))}
            ok, node = _try(nvml, "nvmlDeviceGetNumaNodeId", handle)
            if ok and numa is not None:
                numa.append(int(node))
            else:
                numa = None
            for link in range(nvml.NVML_NVLINK_MAX_LINKS):
                ok, state = _try(nvml, "nvmlDeviceGetNvLinkState", handle, link)
                nvlink_ok = nvlink_ok or ok
                if ok and state:
                    peer_bus = _text(nvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link).busId)
                    if peer_bus in bus_ids:
                        pairs.add(tuple(sorted((index, bus_ids.index(peer_bus)))))  # type: ignore[arg-type]
            gpus.append(gpu)
        pcie_ok = (
            bool(handles) and _try(nvml, "nvmlDeviceGetTopologyCommonAncestor", handles[0], handles[0])[0]
        )
        if numa is None and not nvlink_ok and not pcie_ok:
            profile["vm"] = True
        else:
            profile["topology"] = {
                "numa": numa if numa is not None else "unsupported",
                "nvlink": [list(p) for p in sorted(pairs)] if nvlink_ok else "unsupported",
                "pcie": "supported" if pcie_ok else "unsupported",
            }
        profile["products"] = products
        profile["gpus"] = gpus
        return profile
    finally:
        nvml.nvmlShutdown()


def anonymize(profile: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """The profile with each GPU's and MIG device's UUID and serial replaced by placeholders of the
    same shape (derived from ``seed`` and the position), so a recording can be shared or committed;
    everything else NVML reported (products, PCI addresses, MIG state, topology) stays."""
    out = copy.deepcopy(profile)

    def placeholder(prefix: str, *where: int) -> str:
        digest = hashlib.sha256(repr((seed, prefix, where)).encode()).hexdigest()
        return f"{prefix}-{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    for i, gpu in enumerate(out.get("gpus", [])):
        gpu["uuid"] = placeholder("GPU", i)
        if "serial" in gpu:
            digits = str(int(hashlib.sha256(repr((seed, "serial", i)).encode()).hexdigest(), 16))
            gpu["serial"] = digits[: len(str(gpu["serial"]))]
        for j, mig in enumerate(gpu.get("mig", {}).get("devices", [])):
            if "uuid" in mig:
                mig["uuid"] = placeholder("MIG", i, j)
    return out


def write_profile(profile: dict[str, Any], path: str | Path, note: str = "") -> None:
    """Write ``profile`` as YAML, under a comment that says how it was made (and ``note``)."""
    text = "# Node profile recorded through pynvml (python -m fake_nvml record); see docs/node-profile.md\n"
    text += "".join(f"# {line}\n" for line in note.splitlines())
    Path(path).write_text(text + yaml.safe_dump(profile, sort_keys=False, width=110))
