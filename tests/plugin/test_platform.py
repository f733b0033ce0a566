"""--device-discovery-strategy=auto decides the platform as go-nvlib's info package does."""

from __future__ import annotations

import ctypes.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_nvml import FakeNVML
from plugin.platform import Platform, Probe, Strategy, resolve_platform, resolve_strategy

ORIN = {
    "products": {"Orin": {"name": "Orin (nvgpu)", "memory_mib": 30000, "cuda_cc": [8, 7]}},
    "gpus": [{"product": "Orin"}],
}


@pytest.fixture
def no_nvml() -> Iterator[FakeNVML]:
    node = FakeNVML.from_spec("1xH100")
    node.fail_init("library_not_found")
    yield node
    node.close()


@pytest.fixture
def h100() -> Iterator[FakeNVML]:
    node = FakeNVML.from_spec("2xH100")
    yield node
    node.close()


def tegra_release(root: Path) -> Path:
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc/nv_tegra_release").write_text("# R36 (release), REVISION: 4.3\n")
    return root


def soc_family(root: Path, family: str) -> Path:
    (root / "sys/devices/soc0").mkdir(parents=True, exist_ok=True)
    (root / "sys/devices/soc0/family").write_text(family + "\n")
    return root


def platform(nvml: Any, root: Path) -> Platform:
    return resolve_platform(Probe(nvml, str(root)))[0]


def test_a_tegra_release_file_without_nvml_is_tegra(no_nvml: FakeNVML, tmp_path: Path) -> None:
    assert platform(no_nvml, tegra_release(tmp_path)) == Platform.TEGRA


def test_a_soc_family_starting_with_tegra_is_tegra_whatever_its_case(
    no_nvml: FakeNVML, tmp_path: Path
) -> None:
    assert platform(no_nvml, soc_family(tmp_path, "Tegra")) == Platform.TEGRA
    assert platform(no_nvml, soc_family(tmp_path, "tegra234")) == Platform.TEGRA


def test_another_soc_family_is_not_tegra(no_nvml: FakeNVML, tmp_path: Path) -> None:
    assert platform(no_nvml, soc_family(tmp_path, "Snapdragon")) == Platform.UNKNOWN


def test_tegra_files_with_nvml_present_are_an_nvml_platform(h100: FakeNVML, tmp_path: Path) -> None:
    assert platform(h100, tegra_release(tmp_path)) == Platform.NVML


def test_nvml_that_fails_to_initialise_is_still_present(h100: FakeNVML, tmp_path: Path) -> None:
    """go-nvlib asks whether the library loads, not whether the driver answers."""
    h100.fail_init("driver_not_loaded")
    assert platform(h100, tegra_release(tmp_path)) == Platform.NVML


def test_an_integrated_gpu_named_by_nvml_is_tegra_without_tegra_files(tmp_path: Path) -> None:
    orin = FakeNVML.from_spec(ORIN)
    try:
        found, why = resolve_platform(Probe(orin, str(tmp_path)))
    finally:
        orin.close()
    assert found == Platform.TEGRA
    assert "Orin (nvgpu)" in why


def test_nothing_found_is_unknown_and_served_through_nvml(no_nvml: FakeNVML, tmp_path: Path) -> None:
    strategy, found, _ = resolve_strategy("auto", Probe(no_nvml, str(tmp_path)))
    assert (strategy, found) == (Strategy.NVML, Platform.UNKNOWN)


def test_dxcore_is_wsl_before_tegra_files(no_nvml: FakeNVML, tmp_path: Path) -> None:
    """A loadable libdxcore.so under the driver root wins (WSL is served through NVML)."""
    library = ctypes.util.find_library("m")
    assert library, "libm is needed to stand in for libdxcore.so"
    source = next(
        p
        for p in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64")
        if os.path.exists(os.path.join(p, library))
    )
    lib64 = tegra_release(tmp_path) / "usr/lib64"
    lib64.mkdir(parents=True)
    shutil.copy(os.path.join(source, library), lib64 / "libdxcore.so")
    strategy, found, _ = resolve_strategy("auto", Probe(no_nvml, str(tmp_path)))
    assert (strategy, found) == (Strategy.NVML, Platform.WSL)


def test_a_requested_strategy_asks_nothing(tmp_path: Path) -> None:
    class Untouchable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"NVML was asked {name} although a strategy was requested")

    assert resolve_strategy("tegra", Probe(Untouchable(), str(tegra_release(tmp_path))))[0] == Strategy.TEGRA
    assert resolve_strategy("nvml", Probe(Untouchable(), str(tmp_path)))[0] == Strategy.NVML


def test_each_question_is_asked_once_per_probe(no_nvml: FakeNVML, tmp_path: Path) -> None:
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(no_nvml, name)

    probe = Probe(Counting(), str(tmp_path))
    probe.has_nvml()
    probe.has_nvml()
    resolve_platform(probe)
    assert calls.count("nvmlInit") == 2  # once for "is NVML there", once for "is it an iGPU"
