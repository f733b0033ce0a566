"""MIG functions of the simulated node: MIG modes and devices, GPU and compute instances, profiles."""

from __future__ import annotations

import ctypes
from typing import Any

import pynvml

from fake_nvml.calls import Functions, _err, nvml_call
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
from fake_nvml.node import DeviceHandle, Gpu, MigDevice


class MigFunctions(Functions):
    """pynvml's MIG queries over the node model (go-nvlib reads a MIG profile through them)."""

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
