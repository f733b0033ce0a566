"""Small builders for discovery results, so pure rules can be tested without a node."""

from __future__ import annotations

from plugin.discovery import DiscoveredGpu, MigInfo


def gpu(
    index: int,
    *,
    mig: list[tuple[str, int, int]] | None = None,
    numa: int | None = None,
    mig_enabled: bool | None = None,
    whole: bool = True,
) -> DiscoveredGpu:
    migs = tuple(
        MigInfo(index=slot, uuid=f"MIG-{index}-{slot}", gi=gi, ci=ci, profile=profile, whole_instance=whole)
        for slot, (profile, gi, ci) in enumerate(mig or [])
    )
    return DiscoveredGpu(
        index=index,
        uuid=f"GPU-{index}",
        name="NVIDIA H100 80GB HBM3",
        minor=index,
        pci_bus_id=f"00000000:{0x18 + index:02X}:00.0",
        numa_node=numa,
        mig_enabled=bool(mig) if mig_enabled is None else mig_enabled,
        migs=migs,
    )
