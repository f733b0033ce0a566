"""The pynvml surface: names, types and errors as pynvml's, so plugin code runs unchanged.

Most tests run over every backend (``nvml``/``through``): the node in process, the socket
client, and the real pynvml module on the native shim.
"""

from __future__ import annotations

import ctypes

import pynvml
import pytest

from fake_nvml import FakeNVML
from tests.fake_nvml.conftest import same


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


def test_return_types_match_pynvml(node: FakeNVML, nvml) -> None:
    h = nvml.nvmlDeviceGetHandleByIndex(1)
    assert isinstance(nvml.nvmlDeviceGetUUID(h), str) and isinstance(nvml.nvmlDeviceGetName(h), str)
    pci = nvml.nvmlDeviceGetPciInfo(h)
    assert isinstance(pci, pynvml.nvmlPciInfo_t)
    # pynvml's own struct: whatever it does to char arrays (str in nvidia-ml-py 13), we do too.
    assert pci.busId == node.gpus[1].pci_bus_id and pci.busIdLegacy == pci.busId[4:]
    assert pci.pciDeviceId == 0x233010DE
    mem = nvml.nvmlDeviceGetMemoryInfo(h)
    assert isinstance(mem, pynvml.c_nvmlMemory_t) and mem.total == 81559 * 1024 * 1024 == mem.free + mem.used
    assert nvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2).reserved == 0
    assert nvml.nvmlDeviceGetCudaComputeCapability(h) == (9, 0)
    assert nvml.nvmlDeviceGetMigMode(h) == [0, 0]
    assert nvml.nvmlDeviceGetIndex(h) == 1 and nvml.nvmlDeviceGetMinorNumber(h) == 1
    assert nvml.nvmlSystemGetDriverVersion() == "580.159.04"
    assert nvml.nvmlDeviceGetSerial(h) == node.gpus[1].serial


def test_handles_by_uuid_and_pci_bus_id_are_the_same_device(node: FakeNVML, nvml) -> None:
    gpu = node.gpus[2]
    by_index = nvml.nvmlDeviceGetHandleByIndex(2)
    assert same(nvml.nvmlDeviceGetHandleByUUID(gpu.uuid), by_index)
    assert same(nvml.nvmlDeviceGetHandleByPciBusId(gpu.pci_bus_id.encode()), by_index)
    assert same(nvml.nvmlDeviceGetHandleByPciBusId(gpu.pci_bus_id[4:].lower()), by_index)
    assert not same(nvml.nvmlDeviceGetHandleByIndex(1), by_index)


def test_bad_index_and_unknown_uuid_fail_as_on_real_nvml(nvml) -> None:
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nvml.nvmlDeviceGetHandleByIndex(4)
    with pytest.raises(pynvml.NVMLError_NotFound):
        nvml.nvmlDeviceGetHandleByUUID("GPU-00000000-0000-0000-0000-000000000000")


def test_unmodelled_pynvml_functions_answer_not_supported(nvml) -> None:
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetRetiredPages(nvml.nvmlDeviceGetHandleByIndex(0), 0)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetPowerUsage(nvml.nvmlDeviceGetHandleByIndex(0))


def test_names_pynvml_lacks_are_attribute_errors(node: FakeNVML) -> None:
    with pytest.raises(AttributeError, match="nor does pynvml"):
        node.nvmlNoSuchFunction  # noqa: B018


def test_mig_devices_have_their_own_uuid_name_memory_and_ids(node: FakeNVML, nvml) -> None:
    node.enable_mig(0, {"3g.40gb": 1, "1g.10gb": 2})
    parent = nvml.nvmlDeviceGetHandleByIndex(0)
    assert nvml.nvmlDeviceGetMigMode(parent) == [1, 1]
    assert nvml.nvmlDeviceGetMaxMigDeviceCount(parent) == 7
    migs = [nvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, i) for i in range(3)]
    with pytest.raises(pynvml.NVMLError_NotFound):
        nvml.nvmlDeviceGetMigDeviceHandleByIndex(parent, 3)
    first = migs[0]
    assert nvml.nvmlDeviceGetName(first) == "NVIDIA H100 80GB HBM3 MIG 3g.40gb"
    assert nvml.nvmlDeviceGetUUID(first).startswith("MIG-")
    assert nvml.nvmlDeviceGetMemoryInfo(first).total == 40448 * 1024 * 1024
    assert isinstance(nvml.nvmlDeviceIsMigDeviceHandle(first), ctypes.c_uint)
    assert nvml.nvmlDeviceIsMigDeviceHandle(first).value == 1 and not nvml.nvmlDeviceIsMigDeviceHandle(parent)
    assert same(nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(first), parent)
    ids = [(nvml.nvmlDeviceGetGpuInstanceId(m), nvml.nvmlDeviceGetComputeInstanceId(m)) for m in migs]
    assert ids == [(m.gi, m.ci) for m in node.gpus[0].mig_devices]
    with pytest.raises(pynvml.NVMLError_InvalidArgument):
        nvml.nvmlDeviceGetGpuInstanceId(parent)
    attrs = nvml.nvmlDeviceGetAttributes(first)
    assert (attrs.gpuInstanceSliceCount, attrs.computeInstanceSliceCount, attrs.memorySizeMB) == (3, 3, 40448)


def test_gpu_and_compute_instances_name_their_mig_device(node: FakeNVML, nvml) -> None:
    # go-nvlib reads a MIG device's profile this way: GI and CI by id, their info, their profiles.
    node.enable_mig(0, ["3g.40gb", "1g.10gb"])
    parent = nvml.nvmlDeviceGetHandleByIndex(0)
    mig = node.gpus[0].mig_devices[1]
    gi = nvml.nvmlDeviceGetGpuInstanceById(parent, mig.gi)
    info = nvml.nvmlGpuInstanceGetInfo(gi)
    assert same(info.device, parent) and info.id == mig.gi
    assert info.profileId == pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE
    ci = nvml.nvmlGpuInstanceGetComputeInstanceById(gi, mig.ci)
    ci_info = nvml.nvmlComputeInstanceGetInfo(ci)
    assert (ci_info.id, ci_info.profileId) == (mig.ci, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE)
    profile = nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, ci_info.profileId, 0)
    assert (profile.sliceCount, profile.instanceCount) == (1, 1)
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(gi, pynvml.NVML_COMPUTE_INSTANCE_PROFILE_2_SLICE, 0)
    with pytest.raises(pynvml.NVMLError_NotFound):
        nvml.nvmlDeviceGetGpuInstanceById(parent, 14)


def test_gpu_instance_profiles_are_readable_while_mig_is_off(nvml) -> None:
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(h, pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE)
    assert (info.name, info.instanceCount, info.memorySizeMB, info.multiprocessorCount) == (
        "MIG 1g.10gb",
        7,
        9984,
        16,
    )
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetGpuInstanceProfileInfo(h, pynvml.NVML_GPU_INSTANCE_PROFILE_8_SLICE)


def test_products_without_mig_raise_not_supported_for_mig_queries(clock, through) -> None:
    nvml = through(FakeNVML.from_spec("2xT4", clock=clock))
    h = nvml.nvmlDeviceGetHandleByIndex(0)
    for call in (
        lambda: nvml.nvmlDeviceGetMigMode(h),
        lambda: nvml.nvmlDeviceGetMigDeviceHandleByIndex(h, 0),
        lambda: nvml.nvmlDeviceGetGpuInstanceProfileInfo(h, 0),
    ):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            call()
    assert nvml.nvmlDeviceGetMaxMigDeviceCount(h) == 0


def test_dgx_like_topology_is_consistent(clock, through) -> None:
    node = through(FakeNVML.from_spec("8xH100", clock=clock))
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


def test_nvlink_pairs_wire_only_the_named_pairs(clock, through) -> None:
    spec = {"gpus": [{"product": "A100-80GB", "count": 4}], "topology": {"nvlink": [[0, 1], [2, 3]]}}
    fake = FakeNVML.from_spec(spec, clock=clock)
    node = through(fake)
    h0 = node.nvmlDeviceGetHandleByIndex(0)
    remote = {
        node.nvmlDeviceGetNvLinkRemotePciInfo(h0, link).busId
        for link in range(12)
        if node.nvmlDeviceGetNvLinkState(h0, link)
    }
    assert remote == {fake.gpus[1].pci_bus_id}


def test_pcie_products_and_vms_have_no_nvlink(clock, through) -> None:
    for spec in ("2xL4", {"vm": True, "gpus": [{"product": "H100", "count": 2}]}):
        node = through(FakeNVML.from_spec(spec, clock=clock))
        with pytest.raises(pynvml.NVMLError_NotSupported):
            node.nvmlDeviceGetNvLinkState(node.nvmlDeviceGetHandleByIndex(0), 0)
