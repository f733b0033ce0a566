"""Which platform a build serves (``--device-discovery-strategy``), decided as NVIDIA's v0.20 decides.

``nvml`` and ``tegra`` are taken as given. ``auto`` asks go-nvlib's four questions (pkg/nvlib/info,
used by cmd/nvidia-device-plugin's resolveStrategy) about the plugin's own view of the driver root
(``--driver-root-ctr-path``):

1. WSL: can ``libdxcore.so`` be loaded? → ``nvml`` (NVIDIA's WSL platform is served through NVML);
2. Tegra: ``etc/nv_tegra_release`` exists, or ``sys/devices/soc0/family`` starts with ``tegra``,
   **and NVML is absent**; or NVML names an integrated GPU (``(nvgpu)``, ``NVIDIA Thor``) → ``tegra``;
3. NVML: can ``libnvidia-ml.so.1`` be loaded? → ``nvml``;
4. none of these: NVIDIA warns ``Unsupported platform detected; defaulting to nvml`` → ``nvml``.

"Can NVML be loaded" is asked of the NVML object the plugin was given, so the same rule holds for
the real library, the shim and a simulated node: ``nvmlInit`` failing with ``LibraryNotFound``
means no NVML; any other answer means the library is there (it may still fail to initialise).
Each question is asked at most once per build (:class:`Probe` caches the answers).
"""

from __future__ import annotations

import _ctypes
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from plugin.nvmlutil import LIBRARY_NOT_FOUND, describe, is_code, text
from plugin.roots import resolve_library


class Strategy(StrEnum):
    """``--device-discovery-strategy`` values."""

    AUTO = "auto"
    NVML = "nvml"
    TEGRA = "tegra"


class Platform(StrEnum):
    """go-nvlib's platforms."""

    NVML = "nvml"
    TEGRA = "tegra"
    WSL = "wsl"
    UNKNOWN = "unknown"


TEGRA_RELEASE_FILE = "etc/nv_tegra_release"
TEGRA_FAMILY_FILE = "sys/devices/soc0/family"
DXCORE_LIBRARY = "libdxcore.so"
INTEGRATED_GPU_MARKS = ("(nvgpu)", "NVIDIA Thor")  # Orin's and Thor's names in nvidia-smi -L


@dataclass(frozen=True)
class Answer:
    found: bool
    reason: str


def loadable(ctr_driver_root: str, name: str) -> Answer:
    """Does ``dlopen(name, RTLD_LAZY)`` succeed, looked for under the driver root first (as go-nvlib)?"""
    path = resolve_library(ctr_driver_root, name)
    try:
        handle = _ctypes.dlopen(path, os.RTLD_LAZY)
    except OSError as exc:
        return Answer(False, f"could not load {name}: {exc}")
    _ctypes.dlclose(handle)
    return Answer(True, f"found {path}")


def tegra_files(ctr_driver_root: str) -> Answer:
    release = os.path.join(ctr_driver_root, TEGRA_RELEASE_FILE)
    if os.path.isfile(release):
        return Answer(True, f"{release} found")
    family = os.path.join(ctr_driver_root, TEGRA_FAMILY_FILE)
    try:
        with open(family, encoding="utf-8", errors="replace") as handle:
            contents = handle.read()
    except OSError:
        return Answer(False, f"{family} file not found")
    if contents.lower().startswith("tegra"):
        return Answer(True, f"{family} has 'tegra' prefix")
    return Answer(False, f"{family} has no 'tegra' prefix")


def nvml_present(nvml: Any) -> Answer:
    try:
        nvml.nvmlInit()
    except Exception as exc:  # NVMLError, or a node that cannot be reached
        if is_code(exc, LIBRARY_NOT_FOUND):
            return Answer(False, f"could not load NVML library: {describe(exc)}")
        return Answer(True, f"found NVML library (nvmlInit: {describe(exc)})")
    _shutdown(nvml)
    return Answer(True, "found NVML library")


def integrated_gpu(nvml: Any) -> Answer:
    try:
        nvml.nvmlInit()
    except Exception as exc:
        return Answer(False, f"failed to initialize nvml: {describe(exc)}")
    try:
        names = [
            text(nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(i)))
            for i in range(int(nvml.nvmlDeviceGetCount()))
        ]
    except Exception as exc:
        return Answer(False, f"failed to get device names: {describe(exc)}")
    finally:
        _shutdown(nvml)
    if not names:
        return Answer(False, "no devices found")
    for name in names:
        if any(mark in name for mark in INTEGRATED_GPU_MARKS):
            return Answer(True, f"device {name!r} is an integrated GPU")
    return Answer(False, "no integrated GPUs found")


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:
        pass


@dataclass
class Probe:
    """The platform questions for one build, each asked once."""

    nvml: Any
    ctr_driver_root: str
    _answers: dict[str, Answer] = field(default_factory=dict)

    def _ask(self, question: str) -> Answer:
        if question not in self._answers:
            if question == "dxcore":
                self._answers[question] = loadable(self.ctr_driver_root, DXCORE_LIBRARY)
            elif question == "tegra":
                self._answers[question] = tegra_files(self.ctr_driver_root)
            elif question == "nvml":
                self._answers[question] = nvml_present(self.nvml)
            else:
                self._answers[question] = integrated_gpu(self.nvml)
        return self._answers[question]

    def has_dxcore(self) -> Answer:
        return self._ask("dxcore")

    def has_tegra_files(self) -> Answer:
        return self._ask("tegra")

    def has_nvml(self) -> Answer:
        return self._ask("nvml")

    def has_integrated_gpu(self) -> Answer:
        return self._ask("igpu")


def resolve_platform(probe: Probe) -> tuple[Platform, str]:
    """go-nvlib's ResolvePlatform for ``auto``: the platform and the answer that decided it."""
    dxcore = probe.has_dxcore()
    if dxcore.found:
        return Platform.WSL, dxcore.reason
    tegra, nvml = probe.has_tegra_files(), probe.has_nvml()
    if tegra.found and not nvml.found:
        return Platform.TEGRA, f"{tegra.reason}; {nvml.reason}"
    igpu = probe.has_integrated_gpu()
    if igpu.found:
        return Platform.TEGRA, igpu.reason
    if nvml.found:
        return Platform.NVML, nvml.reason
    return Platform.UNKNOWN, f"{tegra.reason}; {nvml.reason}"


def resolve_strategy(requested: str, probe: Probe) -> tuple[Strategy, Platform | None, str]:
    """``(strategy, platform detected or None when one was requested, why)``."""
    if requested and requested != Strategy.AUTO:
        return Strategy(requested), None, "requested"
    platform, reason = resolve_platform(probe)
    if platform == Platform.TEGRA:
        return Strategy.TEGRA, platform, reason
    return Strategy.NVML, platform, reason
