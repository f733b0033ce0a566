"""The namespace launcher's world: device nodes and driver files that agree with the node."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fake_nvml import FakeNVML
from harness.launchers import gpuworld
from plugin.devicenodes import existing_nodes
from plugin.resources import Device


def _node() -> FakeNVML:
    node = FakeNVML.from_spec("2xH100")
    node.enable_mig(1, ["3g.40gb", "3g.40gb"])
    node.nvmlInit()
    return node


def test_each_gpu_has_its_device_node_and_numa_entry(tmp_path: Path) -> None:
    node = _node()
    world = gpuworld.build(str(tmp_path / "w"), node.gpus)
    names = sorted(os.listdir(world.dev))
    assert {"nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"} <= set(
        names
    )
    numa = Path(world.sys_pci, "0000:" + node.gpus[0].pci_bus_id[-7:].lower(), "numa_node")
    assert numa.read_text() == f"{node.gpus[0].numa_node}\n"


def test_mig_minors_agree_with_access_files_and_capability_nodes(tmp_path: Path) -> None:
    node = _node()
    world = gpuworld.build(str(tmp_path / "w"), node.gpus)
    lines = Path(world.proc_driver, "nvidia-caps", "mig-minors").read_text().splitlines()
    minors = dict(line.rsplit(" ", 1) for line in lines)
    for mig in node.gpus[1].mig_devices:
        key = f"gpu1/gi{mig.gi}/ci{mig.ci}/access"
        access = Path(
            world.proc_driver, "nvidia", "capabilities", "gpu1", "mig", f"gi{mig.gi}", f"ci{mig.ci}", "access"
        )
        assert f"DeviceFileMinor: {minors[key]}\n" in access.read_text()
        assert Path(world.dev, "nvidia-caps", f"nvidia-cap{minors[key]}").exists()


def test_our_plugin_finds_every_node_a_mig_device_needs_in_it(tmp_path: Path) -> None:
    node = _node()
    world = gpuworld.build(str(tmp_path / "w"), node.gpus)
    gpu = node.gpus[1]
    devices = [
        Device(m.uuid, m.uuid, f"1:{m.index}", gpu.uuid, 1, gpu.minor, gpu.pci_bus_id, gi=m.gi, ci=m.ci)
        for m in gpu.mig_devices
    ]
    found = [container for container, _ in existing_nodes(devices, world.root, world.root)]
    assert "/dev/nvidia1" in found and sum(p.startswith("/dev/nvidia-caps/") for p in found) == 4


def test_a_rebuild_drops_what_the_old_layout_had(tmp_path: Path) -> None:
    node = _node()
    root = str(tmp_path / "w")
    gpuworld.build(root, node.gpus)
    node.disable_mig(1)
    world = gpuworld.build(root, node.gpus)
    assert sorted(os.listdir(os.path.join(world.dev, "nvidia-caps"))) == ["nvidia-cap1", "nvidia-cap2"]


def test_the_driver_root_names_the_libraries_by_the_driver_version(tmp_path: Path) -> None:
    shim = tmp_path / "libnvidia-ml.so.1"
    shim.write_text("")
    libs = Path(gpuworld.driver_root(str(tmp_path / "driver"), str(shim), "580.159.04"))
    assert os.readlink(libs / "libnvidia-ml.so.1") == str(shim)
    assert os.readlink(libs / "libnvidia-ml.so.580.159.04") == str(shim)
    assert (libs / "libcuda.so.580.159.04").read_bytes() == b""
    assert not (tmp_path / "driver" / "dev").exists()  # devices stay at /dev (NVIDIA's getDevRoot)


@pytest.mark.skipif(os.geteuid() != 0, reason="device nodes need root")
def test_the_devroot_copy_has_character_devices_and_the_same_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "dev" / "nvidia-caps").mkdir(parents=True)
    (source / "dev" / "nvidia0").write_text("")
    (source / "dev" / "nvidia-caps" / "nvidia-cap1").write_text("")
    (source / "proc").mkdir()
    (source / "proc" / "access").write_text("DeviceFileMinor: 1\n")
    copy = Path(gpuworld.char_devroot(str(source), str(tmp_path / "copy")))
    assert copy != source
    assert stat.S_ISCHR((copy / "dev" / "nvidia0").stat().st_mode)  # NVIDIA's CDI lookup needs that
    assert stat.S_ISCHR((copy / "dev" / "nvidia-caps" / "nvidia-cap1").stat().st_mode)
    assert (copy / "proc" / "access").read_text() == "DeviceFileMinor: 1\n"
    assert not (copy / "dev" / "nvidia1").exists()
