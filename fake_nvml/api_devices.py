"""Device functions of the simulated node: enumeration, identity, memory, topology."""

from __future__ import annotations

from typing import Any

import pynvml

from fake_nvml.calls import Functions, _err, nvml_call
from fake_nvml.identities import normalise_bus_id
from fake_nvml.node import Gpu

MIB = 1024 * 1024


class DeviceFunctions(Functions):
    """pynvml's device queries over the node model."""

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
        return int(pynvml.NVML_FEATURE_ENABLED)

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
        return int(pynvml.NVML_FEATURE_ENABLED if peer is not None else pynvml.NVML_FEATURE_DISABLED)

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
            return int(pynvml.NVML_TOPOLOGY_INTERNAL)
        if a.index // 2 == b.index // 2 and a.spec.numa_node == b.spec.numa_node:
            return int(pynvml.NVML_TOPOLOGY_SINGLE)
        if a.spec.numa_node == b.spec.numa_node:
            return int(pynvml.NVML_TOPOLOGY_NODE)
        return int(pynvml.NVML_TOPOLOGY_SYSTEM)
