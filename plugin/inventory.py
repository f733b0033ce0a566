"""What one generation serves: the platform, the devices found, the resources, the CDI/IMEX extras.

In NVIDIA's order (cmd/nvidia-device-plugin startPlugins → GetPlugins): validate what depends on
the platform (CDI needs NVML), resolve the discovery strategy, enumerate (NVML or the tegra
device), apply the MIG strategy and sharing, then find the IMEX channels and write the CDI specs.
Pure with respect to the manager: it reads NVML and the files under the driver roots, and raises
:class:`InitError` with NVIDIA's wording when the build cannot go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plugin.allocate import Extras
from plugin.config import CDI_STRATEGIES, Config
from plugin.discovery import DiscoveredGpu, discover
from plugin.errors import InitError
from plugin.extras import prepare
from plugin.mig import resources_for_strategy
from plugin.nvmlutil import NVMLError, describe
from plugin.platform import Platform, Probe, Strategy, resolve_strategy
from plugin.resources import Resource
from plugin.sharing import apply_sharing
from plugin.tegra import tegra_resources


@dataclass(frozen=True)
class Choice:
    """The discovery strategy of one build and why it was chosen."""

    strategy: Strategy
    platform: Platform | None  # what ``auto`` detected (None when a strategy was requested)
    reason: str
    warnings: tuple[str, ...] = ()


@dataclass
class Inventory:
    strategy: Strategy
    gpus: list[DiscoveredGpu] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    extras: Extras = field(default_factory=Extras)
    lost: list[DiscoveredGpu] = field(default_factory=list)  # served from the last inventory
    warnings: list[str] = field(default_factory=list)


def choose_strategy(config: Config, probe: Probe) -> Choice:
    """NVIDIA's validateFlags (the platform-dependent part) and resolveStrategy."""
    cdi = any(s in CDI_STRATEGIES for s in config.device_list_strategy)
    if cdi and not probe.has_nvml().found:
        raise InitError(
            "unable to validate flags: CDI --device-list-strategy options are only supported on "
            "NVML-based systems"
        )
    warnings = []
    if config.mig_strategy == "mixed" and not probe.has_nvml().found:
        # AddDefaultResourcesToConfig: mixed names its resources from NVML's MIG profiles.
        warnings.append(
            f'mig-strategy="mixed" is only supported with NVML; NVML not detected: {probe.has_nvml().reason}'
        )
    strategy, platform, reason = resolve_strategy(config.device_discovery_strategy, probe)
    if platform == Platform.UNKNOWN:
        warnings.append("Unsupported platform detected; defaulting to nvml")
    if strategy == Strategy.TEGRA and cdi:
        raise InitError(
            "CDI --device-list-strategy options with the tegra discovery strategy are not supported "
            "by this plugin (NVIDIA's plugin writes them from the Tegra CSV files)"
        )
    return Choice(strategy, platform, reason, tuple(warnings))


def take_inventory(
    config: Config, nvml: Any, strategy: Strategy, known: Sequence[DiscoveredGpu] = ()
) -> Inventory:
    """Everything one generation serves; NVML must be initialised for the ``nvml`` strategy."""
    inventory = Inventory(strategy)
    warnings = inventory.warnings
    try:
        if strategy == Strategy.TEGRA:
            base = tegra_resources()
        else:
            inventory.gpus = discover(nvml, known, inventory.lost)
            base = resources_for_strategy(inventory.gpus, config.mig_strategy, warnings)
        inventory.resources = apply_sharing(base, config.sharing, warnings, tegra=strategy == Strategy.TEGRA)
    except (NVMLError, InitError, ValueError) as exc:
        text = describe(exc) if isinstance(exc, NVMLError) else str(exc)
        raise InitError(f"device discovery failed: {text}") from None
    try:
        inventory.extras = prepare(config, inventory.gpus, nvml, warnings)
    except OSError as exc:
        raise InitError(str(exc)) from None
    for gpu in inventory.lost:
        warnings.append(
            f"GPU {gpu.index} ({gpu.uuid}) is lost; serving it from the last inventory, Unhealthy"
        )
    return inventory
