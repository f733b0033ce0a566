"""Device aliases (``gpu2``, ``gpu-1``, ``gpu0::1``, ``gpu0/mig1.uuid``) resolved against the node.

Why aliases: UUIDs differ between nodes (and between seeds of the simulated node), and nodes
differ in size; a scenario that names ``gpu0`` and ``gpu-1`` (the last GPU) reads the same on
one simulated H100, on eight, and on a real machine. The table is built from ``node.gpus``
(``fake_nvml.NodeGpu`` snapshots), so MIG devices resolve by their index on the parent GPU. What an alias
alone stands for (the device ID) follows the plugin profile's ID scheme: the GPU's UUID, its
index, or nothing the harness can know (an ``opaque`` scheme: :class:`OpaqueIds`). Errors say
what the node has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.templating import DeviceRef, TemplateError, parse_device


class AliasError(LookupError):
    """An alias that names no device of this node; the message lists what exists."""


class OpaqueIds(AliasError):
    """The plugin lists GPUs under IDs of its own, so an alias cannot say which device ID is which."""


def _names(count: int, from_end: bool) -> str:
    if not count:
        return "none"
    return f"gpu-1..gpu-{count} from the end" if from_end else f"gpu0..gpu{count - 1}"


class DeviceTable:
    """Looks up GPUs and MIG devices of a node by alias; ``gpus`` is re-read on every lookup.

    ``ids`` is the profile's scheme for whole-GPU device IDs: ``uuid``, ``index`` or ``opaque``.
    """

    def __init__(self, gpus: Callable[[], Sequence[Any]], ids: str = "uuid") -> None:
        self._gpus = gpus
        self.ids = ids

    def count(self) -> int:
        return len(list(self._gpus()))

    def gpu(self, ref: DeviceRef) -> Any:
        gpus = list(self._gpus())
        wanted = ref.gpu + len(gpus) if ref.gpu < 0 else ref.gpu
        for info in gpus:
            if info.index == wanted:
                return info
        which = f"GPU {ref.gpu}" + (" (counting from the end)" if ref.gpu < 0 else "")
        raise AliasError(
            f"{ref} names {which}, but the node has {len(gpus)} GPUs ({_names(len(gpus), ref.gpu < 0)})"
        )

    def mig(self, ref: DeviceRef) -> tuple[Any, Any]:
        gpu = self.gpu(ref)
        migs = list(getattr(gpu, "mig_devices", []) or [])
        for mig in migs:
            if mig.index == ref.mig:
                return gpu, mig
        if not migs:
            raise AliasError(
                f"{ref}: gpu{gpu.index} has no MIG devices (MIG is not enabled or has no instances)"
            )
        raise AliasError(f"{ref}: gpu{gpu.index} has MIG devices mig0..mig{len(migs) - 1}, not mig{ref.mig}")

    def _gpu_id(self, gpu: Any, ref: DeviceRef) -> str:
        if self.ids == "opaque":
            raise OpaqueIds(
                f"{ref} names a GPU's device ID, but the plugin profile lists GPUs under IDs of its own "
                "(device_ids: opaque)"
            )
        return str(gpu.index) if self.ids == "index" else str(gpu.uuid)

    def numa(self, ref: DeviceRef) -> list[str]:
        """``gpuN.numa``: the GPU's NUMA nodes as a device list carries them, ``[]`` where NVML
        reports none (a VM's GPU: NotSupported), so one expectation holds on both kinds of node."""
        node = self.gpu(ref).numa_node
        return [] if node is None else [str(node)]

    def value(self, ref: DeviceRef) -> str:
        """The string an alias expression stands for (``gpu2`` alone is the device ID)."""
        attr = ref.attr or "id"
        if attr == "numa" and ref.mig is None:
            return ",".join(self.numa(ref))
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
            if attr == "id":
                base = self._gpu_id(gpu, ref)
            else:
                base = {
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

    def all_gpus(self, attr: str | None = None) -> list[str]:
        """Every GPU of the node, as device IDs (or the attribute ``attr`` of each), in index order."""
        return [self.value(DeviceRef(int(g.index), None, None, attr)) for g in self._gpus()]

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
        """A GPU reference (``gpu2``, ``gpu-1``, ``2`` or a UUID) → the GPU's node index."""
        ref = parse_device(text) if isinstance(text, str) else None
        if ref is not None:
            return int(self.gpu(ref).index)
        if isinstance(text, int) or (isinstance(text, str) and text.isdigit()):
            return int(self.gpu(DeviceRef(int(text))).index)
        for info in self._gpus():
            if info.uuid == text:
                return int(info.index)
        raise AliasError(f"{text!r} is not a GPU alias (gpuN, gpu-1), index or UUID of this node")
