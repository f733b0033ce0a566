"""MIG strategies give NVIDIA's resource names and refuse the configurations NVIDIA refuses."""

from __future__ import annotations

import pytest

from plugin.errors import InitError
from plugin.mig import resources_for_strategy
from tests.plugin.builders import gpu


def names(resources: dict) -> dict[str, list[str]]:
    return {name: [d.id for d in devices] for name, devices in resources.items()}


def test_none_exposes_every_gpu_whole_even_with_mig_enabled() -> None:
    gpus = [gpu(0), gpu(1, mig=[("1g.10gb", 1, 0)])]
    assert names(resources_for_strategy(gpus, "none", [])) == {"nvidia.com/gpu": ["GPU-0", "GPU-1"]}


def test_single_exposes_mig_devices_as_nvidia_gpu() -> None:
    gpus = [gpu(0, mig=[("1g.10gb", 1, 0), ("1g.10gb", 2, 0)]), gpu(1, mig=[("1g.10gb", 1, 0)])]
    resources = resources_for_strategy(gpus, "single", [])
    assert names(resources) == {"nvidia.com/gpu": ["MIG-0-0", "MIG-0-1", "MIG-1-0"]}
    assert [d.index for d in resources["nvidia.com/gpu"]] == ["0:0", "0:1", "1:0"]


def test_single_refuses_more_than_one_mig_type() -> None:
    gpus = [gpu(0, mig=[("1g.10gb", 1, 0), ("3g.40gb", 2, 0)])]
    with pytest.raises(
        InitError, match="invalid MIG configuration: more than one MIG device type present on node"
    ):
        resources_for_strategy(gpus, "single", [])


def test_single_refuses_mig_and_non_mig_gpus_together() -> None:
    with pytest.raises(
        InitError, match="all devices on the node must be configured with the same migEnabled value"
    ):
        resources_for_strategy([gpu(0), gpu(1, mig=[("1g.10gb", 1, 0)])], "single", [])


def test_single_refuses_a_mig_enabled_gpu_without_mig_devices_but_mixed_warns() -> None:
    gpus = [gpu(0, mig_enabled=True), gpu(1, mig=[("1g.10gb", 1, 0)])]
    with pytest.raises(InitError, match="device 0 has no MIG devices configured"):
        resources_for_strategy(gpus, "single", [])
    warnings: list[str] = []
    assert names(resources_for_strategy(gpus, "mixed", warnings)) == {"nvidia.com/mig-1g.10gb": ["MIG-1-0"]}
    assert warnings == ["device 0 has no MIG devices configured"]


def test_single_without_mig_gpus_serves_whole_gpus() -> None:
    assert names(resources_for_strategy([gpu(0)], "single", [])) == {"nvidia.com/gpu": ["GPU-0"]}


def test_mixed_names_one_resource_per_profile_with_plus_as_dot() -> None:
    gpus = [gpu(0), gpu(1, mig=[("1g.10gb", 1, 0), ("1g.10gb+me", 2, 0), ("3g.40gb", 3, 0)])]
    assert names(resources_for_strategy(gpus, "mixed", [])) == {
        "nvidia.com/gpu": ["GPU-0"],
        "nvidia.com/mig-1g.10gb": ["MIG-1-0"],
        "nvidia.com/mig-1g.10gb.me": ["MIG-1-1"],
        "nvidia.com/mig-3g.40gb": ["MIG-1-2"],
    }


def test_mixed_skips_compute_instance_slices() -> None:
    warnings: list[str] = []
    gpus = [gpu(0, mig=[("1c.3g.40gb", 1, 0)], whole=False)]
    assert resources_for_strategy(gpus, "mixed", warnings) == {}
    assert "compute-instance slice" in warnings[0]


def test_mig_devices_take_numa_and_minor_from_their_gpu() -> None:
    device = resources_for_strategy([gpu(3, mig=[("1g.10gb", 5, 1)], numa=1)], "mixed", [])[
        "nvidia.com/mig-1g.10gb"
    ][0]
    assert (device.numa_node, device.minor, device.gpu_uuid, device.gi, device.ci) == (1, 3, "GPU-3", 5, 1)
