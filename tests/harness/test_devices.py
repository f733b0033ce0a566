from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

from harness.devices import AliasError, DeviceTable
from harness.templating import DeviceRef

GPUS = [
    NS(
        index=0,
        uuid="GPU-0",
        name="H100",
        minor=0,
        pci_bus_id="00000000:01:00.0",
        numa_node=0,
        mig_devices=[NS(index=0, uuid="MIG-a", gi=1, ci=0, profile="3g.40gb")],
    ),
    NS(
        index=1,
        uuid="GPU-1",
        name="H100",
        minor=1,
        pci_bus_id="00000000:02:00.0",
        numa_node=None,
        mig_devices=[],
    ),
]


def table() -> DeviceTable:
    return DeviceTable(lambda: GPUS)


def test_aliases_resolve_to_device_ids_attributes_replicas_and_mig_devices() -> None:
    t = table()
    assert t.device_id("gpu1") == "GPU-1"
    assert t.device_id("gpu1::3") == "GPU-1::3"
    assert t.device_id("gpu0/mig0") == "MIG-a"
    assert t.value(DeviceRef(0, 0, None, "index")) == "0:0"
    assert t.value(DeviceRef(1, None, None, "minor")) == "1"
    assert t.device_id("GPU-literal") == "GPU-literal"


def test_an_alias_beyond_the_node_says_what_the_node_has() -> None:
    with pytest.raises(AliasError, match=r"gpu7 names GPU 7, but the node has 2 GPUs \(gpu0..gpu1\)"):
        table().device_id("gpu7")


def test_a_mig_alias_on_a_gpu_without_mig_says_so() -> None:
    with pytest.raises(AliasError, match="gpu1 has no MIG devices"):
        table().device_id("gpu1/mig0")


def test_gpu_index_accepts_alias_index_and_uuid() -> None:
    t = table()
    assert [t.gpu_index("gpu1"), t.gpu_index("1"), t.gpu_index("GPU-1")] == [1, 1, 1]


def test_negative_aliases_count_from_the_end_of_the_node() -> None:
    t = table()
    assert t.device_id("gpu-1") == "GPU-1" and t.device_id("gpu-2") == "GPU-0"
    assert t.gpu_index("gpu-1") == 1
    with pytest.raises(
        AliasError, match=r"gpu-3 names GPU -3 \(counting from the end\).*\(gpu-1..gpu-2 from the end\)"
    ):
        t.device_id("gpu-3")


def test_the_profiles_id_scheme_decides_what_an_alias_stands_for() -> None:
    from harness.devices import OpaqueIds

    by_index = DeviceTable(lambda: GPUS, "index")
    assert by_index.device_id("gpu1") == "1" and by_index.device_id("gpu1::2") == "1::2"
    assert by_index.device_id("gpu0/mig0") == "MIG-a"  # MIG devices keep their UUIDs
    assert by_index.all_gpus() == ["0", "1"] and table().all_gpus("uuid") == ["GPU-0", "GPU-1"]
    assert table().value(DeviceRef(1, None, None, "uuid")) == "GPU-1"
    with pytest.raises(OpaqueIds):
        DeviceTable(lambda: GPUS, "opaque").device_id("gpu0")


def test_numa_is_the_device_lists_numa_so_a_gpu_without_one_expects_none() -> None:
    """A VM's GPU reports no NUMA node (NotSupported): ``{gpuN.numa}`` is then [], not ['None']."""
    from harness.model.matcher import Matcher
    from harness.templating import parse_expr

    t = table()
    assert t.numa(DeviceRef(0)) == ["0"] and t.numa(DeviceRef(1)) == []
    assert t.value(DeviceRef(0, None, None, "numa_node")) == "0"

    class Resolver:
        def resolve(self, expr):
            return t.numa(expr) if expr.attr == "numa" else t.value(expr)

    assert parse_expr("gpu-1.numa") == DeviceRef(-1, None, None, "numa")
    from harness.loader import load_text

    matcher = Matcher.from_yaml(load_text("'{gpu1.numa}'", "m.yaml"))
    assert matcher.match([], Resolver()) is None and matcher.match([0], Resolver()) is not None
    assert Matcher.from_yaml(load_text("'{gpu0.numa}'", "m.yaml")).match([0], Resolver()) is None
