"""The files a GPU plugin reads beside NVML, faked for a simulated node (the namespace launcher's world).

A plugin passes device nodes to containers (``/dev/nvidia<minor>``, the control nodes, and for a
MIG device the capability nodes ``/dev/nvidia-caps/nvidia-cap<N>``), finds the capability minors in
the driver's ``/proc/driver`` files, and NVIDIA's reads a GPU's NUMA node from sysfs. This module
writes those trees for the node's GPUs into a scratch folder laid out as the real root is (so it
also serves as a plugin's ``--dev-root``/``--driver-root``); :mod:`harness.launchers.nsinit`
mounts them over the real paths inside the plugin's private mount namespace. The nodes are
empty files: the harness's kubelet only passes their paths along.

Capability minors are numbered as the driver numbers them in ``nvidia-caps/mig-minors``: config 1,
monitor 2, then for GPU minor G and GPU instance I, ``gpuG/giI/access`` at 3 + 135·G + 9·I and its
compute instance C at that + 1 + C (15 GPU instances of 8 compute instances per GPU).
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

CONTROL_NODES = ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset")


class MigView(Protocol):
    gi: int
    ci: int


class GpuView(Protocol):
    """What the world needs of a GPU (``fake_nvml.GpuInfo`` has it)."""

    minor: int
    pci_bus_id: str
    numa_node: int | None

    @property
    def mig_devices(self) -> Sequence[MigView]: ...


def gi_minor(gpu_minor: int, gi: int) -> int:
    return 3 + 135 * gpu_minor + 9 * gi


def ci_minor(gpu_minor: int, gi: int, ci: int) -> int:
    return gi_minor(gpu_minor, gi) + 1 + ci


@dataclass(frozen=True)
class World:
    """The trees written for one start of the plugin, under ``root`` at their real paths."""

    root: str
    dev: str
    proc_driver: str
    sys_pci: str

    @property
    def driver(self) -> str:
        """Where :func:`driver_root` puts the driver's libraries (no dev/: devices stay at /dev)."""
        return os.path.join(self.root, "driver")


def _write(path: str, text: str = "") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _access(minor: int) -> str:
    return f"DeviceFileMinor: {minor}\nDeviceFileMode: 292\nDeviceFileModify: 1\n"


def _sysfs_bus_id(bus_id: str) -> str:
    """``00000000:3B:00.0`` → ``0000:3b:00.0`` (sysfs names a PCI function this way)."""
    domain, _, rest = bus_id.partition(":")
    return f"{domain[-4:]}:{rest}".lower()


def build(root: str, gpus: Sequence[GpuView]) -> World:
    """Write the world of ``gpus`` under ``root`` (replacing an earlier one: the layout may have changed)."""
    shutil.rmtree(root, ignore_errors=True)
    world = World(
        root,
        os.path.join(root, "dev"),
        os.path.join(root, "proc", "driver"),
        os.path.join(root, "sys", "bus", "pci", "devices"),
    )
    for path in (world.dev, world.proc_driver, world.sys_pci):
        os.makedirs(path, exist_ok=True)
    for name in CONTROL_NODES:
        _write(os.path.join(world.dev, name))
    caps = os.path.join(world.proc_driver, "nvidia", "capabilities")
    minors = ["config 1", "monitor 2"]
    _write(os.path.join(caps, "mig", "config"), _access(1))
    _write(os.path.join(caps, "mig", "monitor"), _access(2))
    cap_nodes = [1, 2]
    for gpu in gpus:
        _write(os.path.join(world.dev, f"nvidia{gpu.minor}"))
        numa = -1 if gpu.numa_node is None else gpu.numa_node
        _write(os.path.join(world.sys_pci, _sysfs_bus_id(gpu.pci_bus_id), "numa_node"), f"{numa}\n")
        for mig in gpu.mig_devices:
            gi, ci = gi_minor(gpu.minor, mig.gi), ci_minor(gpu.minor, mig.gi, mig.ci)
            base = os.path.join(caps, f"gpu{gpu.minor}", "mig", f"gi{mig.gi}")
            _write(os.path.join(base, "access"), _access(gi))
            _write(os.path.join(base, f"ci{mig.ci}", "access"), _access(ci))
            minors += [
                f"gpu{gpu.minor}/gi{mig.gi}/access {gi}",
                f"gpu{gpu.minor}/gi{mig.gi}/ci{mig.ci}/access {ci}",
            ]
            cap_nodes += [gi, ci]
    _write(os.path.join(world.proc_driver, "nvidia-caps", "mig-minors"), "\n".join(minors) + "\n")
    for minor in sorted(set(cap_nodes)):
        _write(os.path.join(world.dev, "nvidia-caps", f"nvidia-cap{minor}"))
    return world


def driver_root(root: str, nvml_library: str, driver_version: str) -> str:
    """A driver root with the libraries a plugin looks for by the node's driver version: NVML as
    ``libnvidia-ml.so.1`` and ``.so.<version>`` (links to ``nvml_library``, the shim), and an empty
    ``libcuda.so.<version>``, which NVIDIA's CDI spec generator only locates (it never loads it).
    Returns the library folder."""
    libs = os.path.join(root, "usr", "lib", f"{platform.machine()}-linux-gnu")
    os.makedirs(libs, exist_ok=True)
    names = ["libnvidia-ml.so.1"] + ([f"libnvidia-ml.so.{driver_version}"] if driver_version else [])
    for name in names:
        os.symlink(nvml_library, os.path.join(libs, name))
    if driver_version:
        _write(os.path.join(libs, f"libcuda.so.{driver_version}"))
    return libs


def char_devroot(source: str, target: str) -> str:
    """A copy of the fake device and driver root ``source`` whose ``dev/`` entries are character
    devices, as on a GPU host (NVIDIA's CDI spec generator accepts nothing else), when this process
    may make them (root); otherwise ``source`` itself. The nodes carry /dev/null's numbers."""
    if os.geteuid() != 0:
        return source
    try:
        shutil.copytree(source, target, symlinks=True)
        for folder, _, files in os.walk(os.path.join(target, "dev")):
            for name in files:
                path = os.path.join(folder, name)
                os.unlink(path)
                os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        return source
    return target
