"""What a generation prepares besides its servers: the IMEX channels found and the CDI spec files.

Done once per generation, after discovery and before serving, in NVIDIA's order (GetPlugins:
IMEX channels, then the CDI handler, then the spec files), so that Allocate only reads the result.
"""

from __future__ import annotations

from typing import Any

from plugin import cdi
from plugin.allocate import Extras
from plugin.config import CDI_STRATEGIES, Config
from plugin.discovery import DiscoveredGpu
from plugin.imex import get_channels
from plugin.mig import gpu_device, mig_device
from plugin.nvmlutil import NVMLError, text
from plugin.roots import container_dev_root


def cdi_options(config: Config, driver_version: str) -> cdi.CdiOptions:
    ctr_root = config.driver_root_ctr_path
    return cdi.CdiOptions(
        root=config.cdi_root,
        hook_path=config.nvidia_cdi_hook_path,
        disabled_hooks=config.cdi_disable_hooks,
        feature_flags=config.cdi_feature_flags,
        id_strategy=config.device_id_strategy,
        dev_root=container_dev_root(ctr_root),
        host_dev_root=config.dev_root,
        driver_root=ctr_root,
        host_driver_root=config.driver_root,
        modes=tuple(mode for mode in cdi.MODES if getattr(config, f"{mode}_enabled")),
        driver_version=driver_version,
    )


def prepare(config: Config, gpus: list[DiscoveredGpu], nvml: Any, warnings: list[str]) -> Extras:
    """IMEX channels (InitError under --imex-required when one is missing) and the CDI specs."""
    dev_root = container_dev_root(config.driver_root_ctr_path)
    channels = get_channels(config.imex_channel_ids, config.imex_required, dev_root, warnings)
    additional: list[str] = []
    if any(s in CDI_STRATEGIES for s in config.device_list_strategy):
        try:
            version = text(nvml.nvmlSystemGetDriverVersion())
        except (NVMLError, AttributeError):
            version = ""
        # NVIDIA's gpu spec covers every GPU without MIG and every MIG device, whatever the strategy.
        devices = [gpu_device(g) for g in gpus if not g.mig_enabled]
        devices += [mig_device(g, m) for g in gpus for m in g.migs]
        skipped: list[str] = []
        additional = cdi.write_specs(cdi_options(config, version), devices, channels, skipped)
        warnings.extend(
            f"CDI spec for {cdi.VENDOR}/{cls} has devices without edits; not written" for cls in skipped
        )
    return Extras(tuple(channels), tuple(additional))
