"""pynvml's surface over the node model: same function names, signatures, types and errors.

Each method mirrors one pynvml function (see nvidia-ml-py's ``pynvml.py``): strings where
pynvml decodes them (``convertStrBytes``), bytes in struct char arrays, pynvml's own ctypes
structs, ``(major, minor)`` tuples, ``[current, pending]`` lists, and errors raised as
``pynvml.NVMLError(code)`` so the caller catches ``pynvml.NVMLError_GpuIsLost`` & co.
pynvml functions not modelled here raise ``NVMLError_NotSupported`` (a real GPU may answer that
too), so node inspectors degrade as they would on a real machine.
"""

from __future__ import annotations

import ctypes
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import pynvml

from fake_nvml.events import NOT_ATTRIBUTABLE, EventData, EventHub, EventSet
from fake_nvml.faults import Faults
from fake_nvml.identities import legacy_bus_id, normalise_bus_id, parse_bus_id
from fake_nvml.instances import (
    CI_PROFILE_SLICES,
    ComputeInstanceHandle,
    ComputeInstanceInfo,
    GpuInstanceHandle,
    GpuInstanceInfo,
    compute_profile_index,
    compute_profile_info,
    device_attributes,
    gpu_instance_placement,
)
from fake_nvml.node import DeviceHandle, Gpu, MigDevice, NodeModel
from fake_nvml.symbols import is_call_name
from simkit import Clock, ObservationLog

F = TypeVar("F", bound=Callable[..., Any])
MIB = 1024 * 1024
E = pynvml.NVMLError


def _err(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)


def _is_pynvml_function(name: str) -> bool:
    return name.startswith("nvml") and inspect.isfunction(getattr(pynvml, name, None))


def pynvml_exports() -> dict[str, Any]:
    """pynvml's constants, exception classes and structs: what a drop-in must carry as attributes."""
    out: dict[str, Any] = {}
    for name in dir(pynvml):
        if name.startswith("_") or _is_pynvml_function(name):
            continue
        value = getattr(pynvml, name)
        if isinstance(value, (int, str, float)) or (
            isinstance(value, type)
            and (
                issubclass(value, (pynvml.NVMLError, ctypes.Structure, ctypes.Union))
                or name.startswith(("NVML", "nvml", "c_nvml", "_nvml"))
            )
        ):
            out[name] = value
    return out


@dataclass
class Simulation:
    """One simulated node's shared state: every view (in process, per socket session) uses it."""

    model: NodeModel
    events: EventHub
    faults: Faults
    clock: Clock
    log: ObservationLog | None = None


def nvml_call(needs_init: bool = True) -> Callable[[F], F]:
    """Mark a method as a pynvml function: faults first, then the init check."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(self: NvmlSurface, *args: Any, **kwargs: Any) -> Any:
            self._sim.faults.before(fn.__name__, self._sim.clock)
            if needs_init and not self._initialised():
                raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
            return fn(self, *args, **kwargs)

        wrapper.__nvml_function__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class NvmlSurface:
    """One process's view of a simulated node: pynvml's functions with an init refcount."""

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim
        self._refcount = 0
        self._ref_lock = threading.Lock()
        self._cancelled: Callable[[], bool] | None = None  # set by the socket server: ends waits on close

    def __getattr__(self, name: str) -> Any:
        # A pynvml function (or C symbol, as the shim's stubs send) we do not model: answer as a
        # GPU without that feature would.
        if is_call_name(name):

            def not_supported(*_args: Any, **_kwargs: Any) -> Any:
                self._sim.faults.before(name, self._sim.clock)
                if not self._initialised():
                    raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
                raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)

            not_supported.__name__ = name
            return not_supported
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (nor does pynvml)")

    # -- helpers ---------------------------------------------------------------------------
    def _initialised(self) -> bool:
        with self._ref_lock:
            return self._refcount > 0

    @property
    def _model(self) -> NodeModel:
        return self._sim.model

    def _device(self, handle: object, *, mig_ok: bool = True) -> tuple[Gpu, MigDevice | None]:
        try:
            gpu, mig = self._model.resolve(handle)
        except KeyError:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT) from None
        if gpu.lost:
            raise _err(pynvml.NVML_ERROR_GPU_IS_LOST)
        if gpu.hidden:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if mig is not None and not mig_ok:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu, mig

    def _gpu(self, handle: object) -> Gpu:
        return self._device(handle, mig_ok=False)[0]

    @staticmethod
    def _pci(gpu: Gpu) -> pynvml.nvmlPciInfo_t:
        domain, bus, device = parse_bus_id(gpu.spec.pci_bus_id)
        info = pynvml.nvmlPciInfo_t()
        info.busId = gpu.spec.pci_bus_id.encode()
        info.busIdLegacy = legacy_bus_id(gpu.spec.pci_bus_id).encode()
        info.domain, info.bus, info.device = domain, bus, device
        info.pciDeviceId = gpu.product.pci_device_id
        info.pciSubSystemId = gpu.product.pci_subsystem_id
        return info

    # -- init ----------------------------------------------------------------------------
    @nvml_call(needs_init=False)
    def nvmlInit(self) -> None:
        self._init(0)

    @nvml_call(needs_init=False)
    def nvmlInitWithFlags(self, flags: int) -> None:
        self._init(flags)

    def _init(self, flags: int) -> None:
        code = self._sim.faults.init_failure
        if code is not None:
            raise _err(code)
        with self._ref_lock:
            self._refcount += 1

    @nvml_call(needs_init=False)
    def nvmlShutdown(self) -> None:
        with self._ref_lock:
            if self._refcount == 0:
                raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
            self._refcount -= 1

    @nvml_call(needs_init=False)
    def nvmlErrorString(self, result: int) -> str:
        return str(pynvml.NVMLError(result)) if result in E._errcode_to_string else "Unknown Error"

    # -- system ----------------------------------------------------------------------------
    @nvml_call()
    def nvmlSystemGetDriverVersion(self) -> str:
        return self._model.profile.driver_version

    @nvml_call()
    def nvmlSystemGetNVMLVersion(self) -> str:
        return self._model.profile.nvml_version

    @nvml_call()
    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self._model.profile.cuda_driver_version

    @nvml_call()
    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self._model.profile.cuda_driver_version

    # -- enumeration -----------------------------------------------------------------------
    @nvml_call()
    def nvmlDeviceGetCount(self) -> int:
        return len(self._model.visible())

    @nvml_call()
    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        visible = self._model.visible()
        if not isinstance(index, int) or not 0 <= index < len(visible):
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gpu = visible[index]
        if gpu.lost:
            raise _err(pynvml.NVML_ERROR_GPU_IS_LOST)
        return gpu.handle

    @nvml_call()
    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> object:
        text = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
        handle = self._model.handle_for(text)
        if handle is None:
            raise _err(pynvml.NVML_ERROR_NOT_FOUND)
        gpu, _ = self._model.resolve(handle)
        if gpu.hidden:
            raise _err(pynvml.NVML_ERROR_NOT_FOUND)
        if gpu.lost:
            raise _err(pynvml.NVML_ERROR_GPU_IS_LOST)
        return handle

    @nvml_call()
    def nvmlDeviceGetHandleByPciBusId(self, pciBusId: str | bytes) -> object:
        text = pciBusId.decode() if isinstance(pciBusId, bytes) else str(pciBusId)
        try:
            wanted = normalise_bus_id(text)
        except ValueError:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT) from None
        for gpu in self._model.visible():
            if gpu.spec.pci_bus_id == wanted:
                if gpu.lost:
                    raise _err(pynvml.NVML_ERROR_GPU_IS_LOST)
                return gpu.handle
        raise _err(pynvml.NVML_ERROR_NOT_FOUND)

    @nvml_call()
    def nvmlDeviceGetHandleBySerial(self, serial: str | bytes) -> object:
        text = serial.decode() if isinstance(serial, bytes) else str(serial)
        for gpu in self._model.visible():
            if gpu.spec.serial == text:
                return self.nvmlDeviceGetHandleByUUID(gpu.uuid)
        raise _err(pynvml.NVML_ERROR_NOT_FOUND)

    @nvml_call()
    def nvmlDeviceGetIndex(self, handle: object) -> int:
        gpu = self._gpu(handle)
        return self._model.visible().index(gpu)

    # -- identity --------------------------------------------------------------------------
    @nvml_call()
    def nvmlDeviceGetUUID(self, handle: object) -> str:
        gpu, mig = self._device(handle)
        return mig.uuid if mig else gpu.uuid

    @nvml_call()
    def nvmlDeviceGetName(self, handle: object) -> str:
        gpu, mig = self._device(handle)
        return f"{gpu.product.name} MIG {mig.profile.name}" if mig else gpu.product.name

    @nvml_call()
    def nvmlDeviceGetSerial(self, handle: object) -> str:
        return self._gpu(handle).spec.serial

    @nvml_call()
    def nvmlDeviceGetBoardPartNumber(self, handle: object) -> str:
        part = self._gpu(handle).spec.board_part_number
        if not part:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return part

    @nvml_call()
    def nvmlDeviceGetBrand(self, handle: object) -> int:
        return self._device(handle)[0].product.brand

    @nvml_call()
    def nvmlDeviceGetArchitecture(self, handle: object) -> int:
        return self._device(handle)[0].product.architecture

    @nvml_call()
    def nvmlDeviceGetMinorNumber(self, handle: object) -> int:
        return self._gpu(handle).spec.minor

    @nvml_call()
    def nvmlDeviceGetCudaComputeCapability(self, handle: object) -> tuple[int, int]:
        major, minor = self._device(handle)[0].product.cuda_cc
        return (major, minor)

    @nvml_call()
    def nvmlDeviceGetPciInfo(self, handle: object) -> pynvml.nvmlPciInfo_t:
        return self._pci(self._device(handle)[0])

    @nvml_call()
    def nvmlDeviceGetPciInfo_v3(self, handle: object) -> pynvml.nvmlPciInfo_t:
        return self._pci(self._device(handle)[0])

    @nvml_call()
    def nvmlDeviceGetMemoryInfo(self, handle: object, version: int | None = None) -> Any:
        gpu, mig = self._device(handle)
        total = (mig.memory_mib if mig else gpu.product.memory_mib) * MIB
        used = 0 if mig else min(gpu.spec.memory_used_mib * MIB, total)
        if not version:
            return pynvml.c_nvmlMemory_t(total=total, free=total - used, used=used)
        if version != pynvml.nvmlMemory_v2:
            raise _err(pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        return pynvml.c_nvmlMemory_v2_t(
            version=version, total=total, reserved=0, free=total - used, used=used
        )

    @nvml_call()
    def nvmlDeviceGetPersistenceMode(self, handle: object) -> int:
        self._gpu(handle)
        return pynvml.NVML_FEATURE_ENABLED

    @nvml_call()
    def nvmlDeviceGetEccMode(self, handle: object) -> list[int]:
        self._gpu(handle)
        return [pynvml.NVML_FEATURE_ENABLED, pynvml.NVML_FEATURE_ENABLED]

    @nvml_call()
    def nvmlDeviceGetPowerManagementLimit(self, handle: object) -> int:
        return self._gpu(handle).product.power_limit_mw

    @nvml_call()
    def nvmlDeviceGetTemperature(self, handle: object, sensor: int) -> int:
        gpu = self._gpu(handle)
        if sensor != pynvml.NVML_TEMPERATURE_GPU:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return 32 + gpu.index % 5

    # -- MIG -------------------------------------------------------------------------------
    def _mig_capable(self, handle: object) -> Gpu:
        gpu, mig = self._device(handle)
        if mig is not None:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if not gpu.product.mig_capable:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    @nvml_call()
    def nvmlDeviceGetMigMode(self, device: object) -> list[int]:
        gpu = self._mig_capable(device)
        mode = pynvml.NVML_DEVICE_MIG_ENABLE if gpu.mig_enabled else pynvml.NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    @nvml_call()
    def nvmlDeviceGetMaxMigDeviceCount(self, device: object) -> int:
        gpu, mig = self._device(device)
        if mig is not None:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return gpu.product.max_mig_devices if gpu.mig_enabled else 0

    @nvml_call()
    def nvmlDeviceGetMigDeviceHandleByIndex(self, device: object, index: int) -> object:
        gpu = self._mig_capable(device)
        if not isinstance(index, int) or not 0 <= index < gpu.product.max_mig_devices:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        with self._model.lock:
            migs = gpu.mig_sorted() if gpu.mig_enabled else []
        if index >= len(migs):
            raise _err(pynvml.NVML_ERROR_NOT_FOUND)
        return migs[index].handle

    @nvml_call()
    def nvmlDeviceIsMigDeviceHandle(self, device: object) -> ctypes.c_uint:
        # pynvml returns the c_uint itself here, not its value.
        return ctypes.c_uint(1 if self._device(device)[1] is not None else 0)

    def _mig_of(self, handle: object) -> tuple[Gpu, MigDevice]:
        gpu, mig = self._device(handle)
        if mig is None:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return gpu, mig

    @nvml_call()
    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, migDevice: object) -> object:
        return self._mig_of(migDevice)[0].handle

    @nvml_call()
    def nvmlDeviceGetGpuInstanceId(self, device: object) -> int:
        return self._mig_of(device)[1].gi

    @nvml_call()
    def nvmlDeviceGetComputeInstanceId(self, device: object) -> int:
        return self._mig_of(device)[1].ci

    @nvml_call()
    def nvmlDeviceGetGpuInstanceProfileInfo(self, device: object, profile: int, version: int = 2) -> Any:
        gpu = self._mig_capable(device)
        if not 0 <= profile < pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if version not in (1, 2):
            raise _err(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        try:
            p = gpu.product.mig_profile(profile)
        except ValueError:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED) from None
        info: Any = (
            pynvml.c_nvmlGpuInstanceProfileInfo_v2_t()
            if version == 2
            else pynvml.c_nvmlGpuInstanceProfileInfo_t()
        )
        info.id = p.id
        info.isP2pSupported = 0
        info.sliceCount = p.slices
        info.instanceCount = p.instance_count
        info.multiprocessorCount = p.sm_count
        info.copyEngineCount = max(1, p.slices)
        info.decoderCount = p.slices if p.slices < 7 else 7
        info.encoderCount = 0
        info.jpegCount = 1 if p.name.endswith("+me") or p.slices == 7 else 0
        info.ofaCount = info.jpegCount
        info.memorySizeMB = p.memory_mib
        if version == 2:
            info.name = f"MIG {p.name}".encode()
        return info

    # -- MIG instances (go-nvlib reads a MIG device's profile through them) -----------------
    def _instance(self, handle: object) -> tuple[Gpu, MigDevice]:
        if not isinstance(handle, (GpuInstanceHandle, ComputeInstanceHandle)):
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gpu = self._mig_capable(self._model.handle_for(handle.device) or DeviceHandle(handle.device))
        gi = handle.id if isinstance(handle, GpuInstanceHandle) else handle.gpuInstance
        with self._model.lock:
            found = [m for m in gpu.mig if m.gi == gi]
        if not found or (isinstance(handle, ComputeInstanceHandle) and found[0].ci != handle.id):
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)  # a stale handle
        return gpu, found[0]

    @nvml_call()
    def nvmlDeviceGetGpuInstanceById(self, device: object, id: int) -> GpuInstanceHandle:
        gpu = self._mig_capable(device)
        with self._model.lock:
            if not gpu.mig_enabled:
                raise _err(pynvml.NVML_ERROR_INVALID_STATE)
            if not any(m.gi == id for m in gpu.mig):
                raise _err(pynvml.NVML_ERROR_NOT_FOUND)
        return GpuInstanceHandle(gpu.uuid, int(id))

    @nvml_call()
    def nvmlGpuInstanceGetInfo(self, gpuInstance: object) -> GpuInstanceInfo:
        gpu, mig = self._instance(gpuInstance)
        placement = gpu_instance_placement(mig.start, mig.profile)
        return GpuInstanceInfo(device=gpu.handle, id=mig.gi, profileId=mig.profile.id, placement=placement)

    @nvml_call()
    def nvmlGpuInstanceGetComputeInstanceById(self, gpuInstance: object, id: int) -> ComputeInstanceHandle:
        gpu, mig = self._instance(gpuInstance)
        if mig.ci != id:
            raise _err(pynvml.NVML_ERROR_NOT_FOUND)
        return ComputeInstanceHandle(gpu.uuid, mig.gi, mig.ci)

    @nvml_call()
    def nvmlComputeInstanceGetInfo(self, computeInstance: object) -> ComputeInstanceInfo:
        gpu, mig = self._instance(computeInstance)
        return ComputeInstanceInfo(
            device=gpu.handle,
            gpuInstance=GpuInstanceHandle(gpu.uuid, mig.gi),
            id=mig.ci,
            profileId=compute_profile_index(mig.profile),
            placement=pynvml.c_nvmlComputeInstancePlacement_t(start=0, size=mig.profile.slices),
        )

    nvmlComputeInstanceGetInfo_v2 = nvmlComputeInstanceGetInfo

    @nvml_call()
    def nvmlGpuInstanceGetComputeInstanceProfileInfo(
        self, device: object, profile: int, engProfile: int, version: int = 2
    ) -> Any:
        _, mig = self._instance(device)
        if not 0 <= profile < pynvml.NVML_COMPUTE_INSTANCE_PROFILE_COUNT or engProfile < 0:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if version not in (1, 2):
            raise _err(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        if (
            profile >= len(CI_PROFILE_SLICES)
            or engProfile != 0
            or CI_PROFILE_SLICES[profile] > mig.profile.slices
        ):
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return compute_profile_info(mig.profile, profile, version)

    @nvml_call()
    def nvmlDeviceGetAttributes(self, device: object) -> Any:
        _, mig = self._device(device)
        if mig is None:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return device_attributes(mig.profile)

    nvmlDeviceGetAttributes_v2 = nvmlDeviceGetAttributes

    # -- topology --------------------------------------------------------------------------
    @nvml_call()
    def nvmlDeviceGetNumaNodeId(self, handle: object) -> int:
        gpu = self._device(handle)[0]
        if not self._model.profile.numa_supported or gpu.spec.numa_node is None:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu.spec.numa_node

    def _links(self, handle: object, link: int) -> tuple[Gpu, int | None]:
        gpu = self._gpu(handle)
        if not isinstance(link, int) or not 0 <= link < pynvml.NVML_NVLINK_MAX_LINKS:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if not self._model.profile.nvlink_supported or link >= gpu.product.nvlinks:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu, self._model.link_peer(gpu.index, link)

    @nvml_call()
    def nvmlDeviceGetNvLinkState(self, device: object, link: int) -> int:
        _, peer = self._links(device, link)
        return pynvml.NVML_FEATURE_ENABLED if peer is not None else pynvml.NVML_FEATURE_DISABLED

    @nvml_call()
    def nvmlDeviceGetNvLinkRemotePciInfo(self, device: object, link: int) -> pynvml.nvmlPciInfo_t:
        _, peer = self._links(device, link)
        if peer is None:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self._pci(self._model.gpus[peer])

    @nvml_call()
    def nvmlDeviceGetTopologyCommonAncestor(self, device1: object, device2: object) -> int:
        a, b = self._device(device1)[0], self._device(device2)[0]
        if not self._model.profile.pcie_supported:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        if a is b:
            return pynvml.NVML_TOPOLOGY_INTERNAL
        if a.index // 2 == b.index // 2 and a.spec.numa_node == b.spec.numa_node:
            return pynvml.NVML_TOPOLOGY_SINGLE
        if a.spec.numa_node == b.spec.numa_node:
            return pynvml.NVML_TOPOLOGY_NODE
        return pynvml.NVML_TOPOLOGY_SYSTEM

    # -- events ----------------------------------------------------------------------------
    @nvml_call()
    def nvmlDeviceGetSupportedEventTypes(self, handle: object) -> int:
        return self._gpu(handle).supported_events

    @nvml_call()
    def nvmlEventSetCreate(self) -> EventSet:
        return self._sim.events.create()

    @nvml_call()
    def nvmlDeviceRegisterEvents(self, handle: object, eventTypes: int, eventSet: object) -> None:
        gpu = self._gpu(handle)
        event_set = self._sim.events.live(eventSet)
        supported = gpu.supported_events
        if gpu.events_unsupported or int(eventTypes) & ~supported:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        self._sim.events.register(event_set, gpu.uuid, int(eventTypes))
        if self._sim.log is not None:  # a scenario can wait for a plugin's health check to be armed
            self._sim.log.append("node", "events_registered", gpu=gpu.index, uuid=gpu.uuid, mask=int(eventTypes))

    @nvml_call()
    def nvmlEventSetWait(self, eventSet: object, timeoutms: int) -> EventData:
        return self._wait(eventSet, timeoutms)

    @nvml_call()
    def nvmlEventSetWait_v2(self, eventSet: object, timeoutms: int) -> EventData:
        return self._wait(eventSet, timeoutms)

    def _wait(self, eventSet: object, timeoutms: int) -> EventData:
        event_set = self._sim.events.live(eventSet)

        def lost(uuid: str) -> bool:
            with self._model.lock:
                return any(g.lost for g in self._model.gpus if g.uuid == uuid)

        return self._sim.events.wait(event_set, int(timeoutms), lost, self._cancelled)

    @nvml_call()
    def nvmlEventSetFree(self, eventSet: object) -> None:
        self._sim.events.free(self._sim.events.live(eventSet))


def surface_functions() -> list[str]:
    """Names of the pynvml functions the simulation models (the rest answer NotSupported)."""
    return sorted(n for n, v in vars(NvmlSurface).items() if getattr(v, "__nvml_function__", False))


for _name, _value in pynvml_exports().items():
    if not hasattr(NvmlSurface, _name):
        setattr(NvmlSurface, _name, _value)

__all__ = ["NOT_ATTRIBUTABLE", "NvmlSurface", "Simulation", "pynvml_exports", "surface_functions"]
