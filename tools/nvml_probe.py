"""Probe a machine through pynvml: every property a device plugin reads, and one event wait.

Written only against pynvml's API, so the same code runs on real NVML (``import pynvml``), on
a simulated node (``--sim 4xH100``) and on a served one (``--connect /tmp/x/nvml.sock``). The
output (JSON) is what docs and tests compare between real and simulated machines.

    python tools/nvml_probe.py                 # real NVML
    python tools/nvml_probe.py --sim 4xH100    # a simulated node
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _read(nvml: Any, fn: str, *args: Any) -> Any:
    """The value, or the NVML error's class name (NotSupported is an answer, not a failure)."""
    try:
        value = getattr(nvml, fn)(*args)
    except nvml.NVMLError as exc:
        return type(exc).__name__
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    return _text(value)


def _device(nvml: Any, handle: Any, peers: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, fn in (
        ("name", "nvmlDeviceGetName"),
        ("uuid", "nvmlDeviceGetUUID"),
        ("serial", "nvmlDeviceGetSerial"),
        ("index", "nvmlDeviceGetIndex"),
        ("minor", "nvmlDeviceGetMinorNumber"),
        ("architecture", "nvmlDeviceGetArchitecture"),
        ("cuda_cc", "nvmlDeviceGetCudaComputeCapability"),
        ("mig_mode", "nvmlDeviceGetMigMode"),
        ("max_mig_devices", "nvmlDeviceGetMaxMigDeviceCount"),
        ("numa_node", "nvmlDeviceGetNumaNodeId"),
        ("supported_events", "nvmlDeviceGetSupportedEventTypes"),
    ):
        out[key] = _read(nvml, fn, handle)
    try:
        mem = nvml.nvmlDeviceGetMemoryInfo(handle)
        out["memory"] = {"total": mem.total, "used": mem.used, "free": mem.free}
    except nvml.NVMLError as exc:
        out["memory"] = type(exc).__name__
    try:
        pci = nvml.nvmlDeviceGetPciInfo(handle)
        out["pci"] = {
            "busId": _text(pci.busId),
            "busIdLegacy": _text(pci.busIdLegacy),
            "busId_type": type(pci.busId).__name__,
            "pciDeviceId": f"0x{pci.pciDeviceId:08X}",
        }
    except nvml.NVMLError as exc:
        out["pci"] = type(exc).__name__
    out["nvlink"] = {}
    for link in range(nvml.NVML_NVLINK_MAX_LINKS):
        state = _read(nvml, "nvmlDeviceGetNvLinkState", handle, link)
        if state == 1:
            out["nvlink"][link] = _text(nvml.nvmlDeviceGetNvLinkRemotePciInfo(handle, link).busId)
        elif link == 0 and isinstance(state, str):
            out["nvlink"] = state
            break
    out["topology"] = [_read(nvml, "nvmlDeviceGetTopologyCommonAncestor", handle, peer) for peer in peers]
    profiles = {}
    for pid in range(nvml.NVML_GPU_INSTANCE_PROFILE_COUNT):
        try:
            info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, pid)
        except nvml.NVMLError as exc:
            if pid == 0 and isinstance(exc, nvml.NVMLError_NotSupported):
                profiles = {"error": type(exc).__name__}
                break
            continue
        profiles[pid] = {
            "name": _text(info.name),
            "instances": info.instanceCount,
            "memory_mb": info.memorySizeMB,
        }
    out["mig_profiles"] = profiles
    out["mig_devices"] = []
    max_mig = out["max_mig_devices"] if isinstance(out["max_mig_devices"], int) else 0
    for index in range(max_mig):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, index)
        except nvml.NVMLError_NotFound:
            continue
        out["mig_devices"].append(
            {
                "uuid": _read(nvml, "nvmlDeviceGetUUID", mig),
                "name": _read(nvml, "nvmlDeviceGetName", mig),
                "gi": _read(nvml, "nvmlDeviceGetGpuInstanceId", mig),
                "ci": _read(nvml, "nvmlDeviceGetComputeInstanceId", mig),
                "memory_total": nvml.nvmlDeviceGetMemoryInfo(mig).total,
                "parent_uuid": _read(
                    nvml, "nvmlDeviceGetUUID", nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig)
                ),
            }
        )
    return out


def probe(nvml: Any, wait_ms: int = 100) -> dict[str, Any]:
    """Everything above for every GPU, then an XID/ECC event registration and one timed wait."""
    result: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        return {"init": type(exc).__name__, "code": exc.value}
    result["init_ms"] = round((time.perf_counter() - start) * 1000, 2)
    try:
        result["driver_version"] = _read(nvml, "nvmlSystemGetDriverVersion")
        result["cuda_driver_version"] = _read(nvml, "nvmlSystemGetCudaDriverVersion")
        result["nvml_version"] = _read(nvml, "nvmlSystemGetNVMLVersion")
        count = nvml.nvmlDeviceGetCount()
        result["count"] = count
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        result["devices"] = [_device(nvml, h, handles) for h in handles]
        result["bad_index"] = _read(nvml, "nvmlDeviceGetHandleByIndex", count)
        result["unknown_uuid"] = _read(
            nvml, "nvmlDeviceGetHandleByUUID", "GPU-00000000-0000-0000-0000-000000000000"
        )
        event_set = nvml.nvmlEventSetCreate()
        mask = (
            nvml.nvmlEventTypeXidCriticalError
            | nvml.nvmlEventTypeDoubleBitEccError
            | nvml.nvmlEventTypeSingleBitEccError
        )
        result["register"] = [_read(nvml, "nvmlDeviceRegisterEvents", h, mask, event_set) for h in handles]
        start = time.perf_counter()
        try:
            event = nvml.nvmlEventSetWait(event_set, wait_ms)
            result["wait"] = {"eventType": event.eventType, "eventData": event.eventData}
        except nvml.NVMLError_Timeout as exc:
            result["wait"] = type(exc).__name__
        except nvml.NVMLError as exc:
            result["wait"] = type(exc).__name__
        result["wait_ms"] = round((time.perf_counter() - start) * 1000, 1)
        nvml.nvmlEventSetFree(event_set)
    finally:
        nvml.nvmlShutdown()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--sim", metavar="SPEC", help="probe a simulated node (e.g. 4xH100)")
    source.add_argument("--connect", metavar="PATH", help="probe the node served on this unix socket")
    parser.add_argument("--wait-ms", type=int, default=1000, help="event wait timeout (default 1000)")
    args = parser.parse_args(argv)
    if args.sim or args.connect:
        from fake_nvml import FakeNVML

        nvml: Any = FakeNVML.from_spec(args.sim) if args.sim else FakeNVML.connect(args.connect)
    else:
        import pynvml as nvml
    print(json.dumps(probe(nvml, args.wait_ms), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
