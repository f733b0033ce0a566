"""Device aliases (``gpu2``, ``gpu0::1``, ``gpu0/mig1.uuid``) resolved against the node.

Why aliases: UUIDs differ between nodes (and between seeds of the simulated node); a scenario
that names ``gpu2`` reads the same on 4 simulated H100s and on a real machine. The table is
built from ``node.gpus`` (``fake_nvml.NodeGpu`` snapshots), so MIG devices resolve by their index on the
parent GPU. Errors say what the node has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.templating import DeviceRef, TemplateError, parse_device


class AliasError(LookupError):
    """An alias that names no device of this node; the message lists what exists."""


class DeviceTable:
    """Looks up GPUs and MIG devices of a node by alias; ``gpus`` is re-read on every lookup."""

    def __init__(self, gpus: Callable[[], Sequence[Any]]) -> None:
        self._gpus = gpus

    def gpu(self, ref: DeviceRef) -> Any:
        gpus = list(self._gpus())
        for info in gpus:
            if info.index == ref.gpu:
                return info
        names = f"gpu0..gpu{len(gpus) - 1}" if gpus else "none"
        raise AliasError(f"{ref} names GPU {ref.gpu}, but the node has {len(gpus)} GPUs ({names})")

    def mig(self, ref: DeviceRef) -> tuple[Any, Any]:
        gpu = self.gpu(ref)
        migs = list(getattr(gpu, "mig_devices", []) or [])
        for mig in migs:
            if mig.index == ref.mig:
                return gpu, mig
        if not migs:
            raise AliasError(
                f"{ref}: gpu{ref.gpu} has no MIG devices (MIG is not enabled or has no instances)"
            )
        raise AliasError(f"{ref}: gpu{ref.gpu} has MIG devices mig0..mig{len(migs) - 1}, not mig{ref.mig}")

    def value(self, ref: DeviceRef) -> str:
        """The string an alias expression stands for (``gpu2`` alone is the device ID)."""
        attr = ref.attr or "id"
        if ref.mig is not None:
            gpu, mig = self.mig(ref)
            base = {
                "id": mig.uuid,
                "uuid": mig.uuid,
                "index": f"{gpu.index}:{mig.index}",
                "gi": mig.gi,
                "ci": mig.ci,
                "profile": mig.profile,
                "parent": gpu.uuid,
            }[attr]
        else:
            gpu = self.gpu(ref)
            base = {
                "id": gpu.uuid,
                "uuid": gpu.uuid,
                "index": gpu.index,
                "minor": gpu.minor,
                "pci_bus_id": gpu.pci_bus_id,
                "name": gpu.name,
                "numa_node": gpu.numa_node,
            }[attr]
        if ref.replica is not None and attr == "id":
            return f"{base}::{ref.replica}"
        return str(base)

    def mig_ids(self, text: str) -> set[str]:
        """The MIG device IDs of a plain GPU alias (``gpu1``); empty for anything else."""
        try:
            ref = parse_device(text)
        except TemplateError:
            return set()
        if ref is None or ref.mig is not None or ref.replica is not None or ref.attr not in (None, "id"):
            return set()
        return {m.uuid for m in getattr(self.gpu(ref), "mig_devices", []) or []}

    def device_id(self, text: str) -> str:
        """A device reference as written in a scenario (alias or a literal ID) → the device ID."""
        try:
            ref = parse_device(text)
        except TemplateError:
            ref = None
        if ref is None:
            return text
        return self.value(DeviceRef(ref.gpu, ref.mig, ref.replica, ref.attr))

    def gpu_index(self, text: str) -> int:
        """A GPU reference (``gpu2``, ``2`` or a UUID) → the GPU's node index."""
        ref = parse_device(text) if isinstance(text, str) else None
        if ref is not None:
            return int(self.gpu(ref).index)
        if isinstance(text, int) or (isinstance(text, str) and text.isdigit()):
            return int(self.gpu(DeviceRef(int(text))).index)
        for info in self._gpus():
            if info.uuid == text:
                return int(info.index)
        raise AliasError(f"{text!r} is not a GPU alias (gpuN), index or UUID of this node")
