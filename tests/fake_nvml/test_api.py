"""The pynvml surface: names, types and errors as pynvml's, so plugin code runs unchanged."""

from __future__ import annotations

import ctypes

import pynvml
import pytest

from fake_nvml import FakeNVML


def test_exceptions_and_constants_are_pynvmls_own(node: FakeNVML) -> None:
    assert node.NVMLError_Timeout is pynvml.NVMLError_Timeout
    assert node.NVMLError is pynvml.NVMLError
    assert node.nvmlEventTypeXidCriticalError == 0x8 and node.NVML_ERROR_GPU_IS_LOST == 15
    assert node.NVML_DEVICE_MIG_ENABLE == 1 and node.c_nvmlMemory_t is pynvml.c_nvmlMemory_t


def test_calls_before_init_raise_uninitialized_and_shutdown_is_refcounted(clock) -> None:
    node = FakeNVML.from_spec("1xT4", clock=clock)
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        node.nvmlDeviceGetCount()
    node.nvmlInit()
    node.nvmlInitWithFlags(pynvml.NVML_INIT_FLAG_NO_GPUS)
    node.nvmlShutdown()
    assert node.nvmlDeviceGetCount() == 1
    node.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        node.nvmlDeviceGetCount()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        node.nvmlShutdown()


def test_return_types_match_pynvml(node: FakeNVML) -> None:
    h = node.nvmlDeviceGetHandleByIndex(1)
    assert isinstance(node.nvmlDeviceGetUUID(h), str) and isinstance(node.nvmlDeviceGetName(h), str)
    pci = node.nvmlDeviceGetPciInfo(h)
    assert isinstance(pci, pynvml.nvmlPciInfo_t)
    # pynvml's own struct: whatever it does to char arrays (str in nvidia-ml-py 13), we do too.
    assert pci.busId == node.gpus[1].pci_bus_id and pci.busIdLegacy == pci.busId[4:]
    assert pci.pciDeviceId == 0x233010DE
    mem = node.nvmlDeviceGetMemoryInfo(h)
    assert isinstance(mem, pynvml.c_nvmlMemory_t) and mem.total == 81559 * 1024 * 1024 == mem.free + mem.used
    assert node.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2).reserved == 0
    assert node.nvmlDeviceGetCudaComputeCapability(h) == (9, 0)
    assert node.nvmlDeviceGetMigMode(h) == [0, 0]
    assert node.nvmlDeviceGetIndex(h) == 1 and node.nvmlDeviceGetMinorNumber(h) == 1
    assert node.nvmlSystemGetDriverVersion() == "580.159.04"


def test_handles_by_uuid_and_pci_bus_id_are_the_same_device(node: FakeNVML) -> None:
    gpu = node.gpus[2]
    by_index = node.nvmlDeviceGetHandleByIndex(2)
    assert node.nvmlDeviceGetHandleByUUID(gpu.uuid) == by_index
    assert node.nvmlDeviceGetHandleByPciBusId(gpu.pci_bus_id.encode()) == by_index
    assert node.nvmlDeviceGetHandleByPciBusId(gpu.pci_bus_id[4:].lower()) == by_index


def test_bad_index_and_unknown_uuid_fail_as_on_real_nvml(node: FakeNVML) -> None:
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        node.nvmlDeviceGetHandleByIndex(4)
    with pytest.raises(pynvml.NVMLError_NotFound):
        node.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000")


def test_unmodelled_pynvml_functions_answer_not_supported(node: FakeNVML) -> None:
    with pytest.raises(pynvml.NVMLError_NotSupported):
        node.nvmlDeviceGetRetiredPages(node.nvmlDeviceGetHandleByIndex(0), 0)
    with pytest.raises(AttributeError, match="nor does pynvml"):
        node.nvmlNoSuchFunction  # noqa: B018


def test_mig_devices_have_their_own_uuid_name_memory_and_ids(node: FakeNVML) -> None:
    node.enable_mig(0, {"3g.40gb": 1, "1g.10gb": 2})
    parent = node.nvmlDeviceGetHandleByIndex(0)
    assert node.nvmlDeviceGetMigMode(parent) == [1, 1]
    assert node.nvmlDeviceGetMaxMigDeviceCount(parent) == 7
    migs = [node.nvmlDeviceGetMigDeviceHandleByIndex(parent, i) for i in range(3)]
    with pytest.raises(pynvml.NVMLError_NotFound):
        node.nvmlDeviceGetMigDeviceHandleByIndex(parent, 3)
    first = migs[0]
    assert node.nvmlDeviceGetName(first) == "NVIDIA H100 80GB HBM3 MIG 3g.40gb"
    assert node.nvmlDeviceGetUUID(first).startswith("MIG-")
    assert node.nvmlDeviceGetMemoryInfo(first).total == 40448 * 1024 * 1024
    assert isinstance(node.nvmlDeviceIsMigDeviceHandle(first), ctypes.c_uint)
    assert node.nvmlDeviceIsMigDeviceHandle(first).value == 1 and not node.nvmlDeviceIsMigDeviceHandle(parent)
    assert node.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(first) == parent
    ids = [(node.nvmlDeviceGetGpuInstanceId(m), node.nvmlDeviceGetComputeInstanceId(m)) for m in migs]
    assert ids == [(m.gi, m.ci) for m in node.gpus[0].mig_devices]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        node.nvmlDeviceGetGpuInstanceId(parent)


def test_gpu_instance_profiles_are_readable_while_mig_is_off(node: FakeNVML) -> None:
    h = node.nvmlDeviceGetHandleByIndex(0)
    info = node.nvmlDeviceGetGpuInstanceProfileInfo(h, pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE)
    assert (info.name, info.instanceCount, info.memorySizeMB, info.multiprocessorCount) == (
        "MIG 1g.10gb",
        7,
        9984,
        16,
    )
    with pytest.raises(pynvml.NVMLError_NotSupported):
        node.nvmlDeviceGetGpuInstanceProfileInfo(h, pynvml.NVML_GPU_INSTANCE_PROFILE_8_SLICE)


def test_products_without_mig_raise_not_supported_for_mig_queries(clock) -> None:
    node = FakeNVML.from_spec("2xT4", clock=clock)
    node.nvmlInit()
    h = node.nvmlDeviceGetHandleByIndex(0)
    for call in (
        lambda: node.nvmlDeviceGetMigMode(h),
        lambda: node.nvmlDeviceGetMigDeviceHandleByIndex(h, 0),
        lambda: node.nvmlDeviceGetGpuInstanceProfileInfo(h, 0),
    ):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            call()
    assert node.nvmlDeviceGetMaxMigDeviceCount(h) == 0


def test_dgx_like_topology_is_consistent(clock) -> None:
    node = FakeNVML.from_spec("8xH100", clock=clock)
    node.nvmlInit()
    handles = [node.nvmlDeviceGetHandleByIndex(i) for i in range(8)]
    assert [node.nvmlDeviceGetNumaNodeId(h) for h in handles] == [0, 0, 0, 0, 1, 1, 1, 1]
    bus_to_index = {node.nvmlDeviceGetPciInfo(h).busId: i for i, h in enumerate(handles)}
    for i, h in enumerate(handles):
        peers = {
            bus_to_index[node.nvmlDeviceGetNvLinkRemotePciInfo(h, link).busId]
            for link in range(18)
            if node.nvmlDeviceGetNvLinkState(h, link)
        }
        assert peers == set(range(8)) - {i}
    ancestor = node.nvmlDeviceGetTopologyCommonAncestor
    assert ancestor(handles[0], handles[0]) == pynvml.NVML_TOPOLOGY_INTERNAL
    assert ancestor(handles[0], handles[1]) == pynvml.NVML_TOPOLOGY_SINGLE
    assert ancestor(handles[0], handles[3]) == pynvml.NVML_TOPOLOGY_NODE
    assert ancestor(handles[0], handles[4]) == pynvml.NVML_TOPOLOGY_SYSTEM
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        node.nvmlDeviceGetNvLinkState(handles[0], pynvml.NVML_NVLINK_MAX_LINKS)


def test_nvlink_pairs_wire_only_the_named_pairs(clock) -> None:
    node = FakeNVML.from_spec(
        {"gpus": [{"product": "A100-80GB", "count": 4}], "topology": {"nvlink": [[0, 1], [2, 3]]}},
        clock=clock,
    )
    node.nvmlInit()
    h0 = node.nvmlDeviceGetHandleByIndex(0)
    remote = {
        node.nvmlDeviceGetNvLinkRemotePciInfo(h0, link).busId
        for link in range(12)
        if node.nvmlDeviceGetNvLinkState(h0, link)
    }
    assert remote == {node.gpus[1].pci_bus_id}


def test_pcie_products_and_vms_have_no_nvlink(clock) -> None:
    for spec in ("2xL4", {"vm": True, "gpus": [{"product": "H100", "count": 2}]}):
        node = FakeNVML.from_spec(spec, clock=clock)
        node.nvmlInit()
        with pytest.raises(pynvml.NVMLError_NotSupported):
            node.nvmlDeviceGetNvLinkState(node.nvmlDeviceGetHandleByIndex(0), 0)
