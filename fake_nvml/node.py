"""The model of a simulated GPU node: GPUs, their MIG instances, and what has gone wrong.

This is state only, guarded by one lock; the pynvml surface (``api.py``) reads it and the
injection methods (``fake.py``) change it. ``NodeGpu``/``MigDeviceInfo`` are the snapshots the
harness inspects (``node.gpus``), so that device aliases like ``gpu0/mig1`` resolve the same way
on a simulated node and on a recorded real one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fake_nvml import identities
from fake_nvml.catalog import MigProfile, Product
from fake_nvml.profile import GpuSpec, MigSpec, NodeProfile


@dataclass(frozen=True)
class MigDeviceInfo:
    """One MIG device (a GPU instance with one compute instance), as the harness sees it."""

    index: int
    uuid: str
    gi: int
    ci: int
    profile: str
    memory_mib: int
    name: str


@dataclass(frozen=True)
class NodeGpu:
    """One physical GPU, as the harness sees it. ``index`` is its place in the node profile."""

    index: int
    uuid: str
    name: str
    minor: int
    pci_bus_id: str
    numa_node: int | None
    mig_enabled: bool
    mig_devices: list[MigDeviceInfo] = field(default_factory=list)
    serial: str = ""
    memory_mib: int = 0
    lost: bool = False
    hidden: bool = False


class DeviceHandle:
    """An opaque device handle, like pynvml's ``c_nvmlDevice_t``; equal when the device is.

    Real handles are pointers, so code must not rely on identity; we compare by UUID so that
    a handle obtained twice (or via the socket client) is still the same device.
    """

    __slots__ = ("uuid",)

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceHandle) and other.uuid == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    def __repr__(self) -> str:
        return f"<nvmlDevice {self.uuid}>"


@dataclass
class MigDevice:
    profile: MigProfile
    gi: int
    ci: int
    uuid: str
    start: int
    handle: DeviceHandle

    @property
    def memory_mib(self) -> int:
        return self.profile.memory_mib


@dataclass
class Gpu:
    index: int
    spec: GpuSpec
    handle: DeviceHandle
    mig_enabled: bool = False
    mig: list[MigDevice] = field(default_factory=list)
    lost: bool = False
    hidden: bool = False
    events_unsupported: bool = False

    @property
    def product(self) -> Product:
        return self.spec.product

    @property
    def uuid(self) -> str:
        return self.spec.uuid

    @property
    def supported_events(self) -> int:
        if self.events_unsupported:
            return 0
        if self.spec.supported_events is not None:
            return int(self.spec.supported_events)
        return self.product.supported_events

    def mig_sorted(self) -> list[MigDevice]:
        return sorted(self.mig, key=lambda m: (m.gi, m.ci))


class MigLayoutError(ValueError):
    """A MIG layout does not fit the GPU; the message names the profile and what is free."""


class NodeModel:
    """Every GPU of the node with its MIG layout and fault flags, under one lock."""

    def __init__(self, profile: NodeProfile) -> None:
        self.profile = profile
        self.lock = threading.RLock()
        self.gpus: list[Gpu] = [Gpu(i, spec, DeviceHandle(spec.uuid)) for i, spec in enumerate(profile.gpus)]
        for gpu in self.gpus:
            if gpu.spec.mig_enabled:
                self.set_mig(gpu.index, gpu.spec.mig_devices)
        self._links = self._wire_nvlinks()

    def _wire_nvlinks(self) -> dict[int, list[int | None]]:
        """Give each NVLink pair the same number of links on both ends, in peer order.

        ``link_peer(gpu, link)`` then answers ``nvmlDeviceGetNvLinkState`` and
        ``...RemotePciInfo`` consistently: GPU a's link k reaches b iff one of b's reaches a.
        """
        pairs = self.profile.nvlink_pairs
        peers: dict[int, list[int]] = {g.index: [] for g in self.gpus}
        for a, b in pairs:
            peers[a].append(b)
            peers[b].append(a)

        def per_pair(a: int, b: int) -> int:
            share_a = self.gpus[a].product.nvlinks // max(1, len(peers[a]))
            share_b = self.gpus[b].product.nvlinks // max(1, len(peers[b]))
            return max(1, min(share_a, share_b))

        links: dict[int, list[int | None]] = {}
        for gpu in self.gpus:
            wired: list[int | None] = []
            for peer in sorted(peers[gpu.index]):
                wired.extend([peer] * per_pair(gpu.index, peer))
            wired = wired[: gpu.product.nvlinks]
            links[gpu.index] = wired + [None] * (gpu.product.nvlinks - len(wired))
        return links

    def link_peer(self, index: int, link: int) -> int | None:
        """The GPU at the other end of ``link`` of GPU ``index`` (None: link inactive)."""
        wired = self._links.get(index, [])
        return wired[link] if 0 <= link < len(wired) else None

    # -- lookups ------------------------------------------------------------------------
    def gpu(self, which: int | str) -> Gpu:
        """A GPU by node index or UUID; the error lists what the node has."""
        with self.lock:
            if isinstance(which, bool) or not isinstance(which, (int, str)):
                raise ValueError(f"a GPU is named by its index or UUID, got {which!r}")
            if isinstance(which, int):
                if 0 <= which < len(self.gpus):
                    return self.gpus[which]
                raise ValueError(
                    f"GPU {which} does not exist: the node has {len(self.gpus)} GPUs "
                    f"(gpu0..gpu{len(self.gpus) - 1})"
                )
            for gpu in self.gpus:
                if gpu.uuid == which:
                    return gpu
            raise ValueError(f"no GPU with UUID {which!r}; the node has {[g.uuid for g in self.gpus]}")

    def visible(self) -> list[Gpu]:
        with self.lock:
            return [g for g in self.gpus if not g.hidden]

    def resolve(self, handle: object) -> tuple[Gpu, MigDevice | None]:
        """The GPU (and MIG device) a handle names; raises KeyError for foreign handles."""
        uuid = getattr(handle, "uuid", None)
        with self.lock:
            for gpu in self.gpus:
                if gpu.uuid == uuid:
                    return gpu, None
                for mig in gpu.mig:
                    if mig.uuid == uuid:
                        return gpu, mig
        raise KeyError(uuid)

    def handle_for(self, uuid: str) -> DeviceHandle | None:
        with self.lock:
            for gpu in self.gpus:
                if gpu.uuid == uuid:
                    return gpu.handle
                for mig in gpu.mig:
                    if mig.uuid == uuid:
                        return mig.handle
        return None

    # -- MIG ------------------------------------------------------------------------------
    def set_mig(self, index: int, devices: list[MigSpec] | list[str]) -> None:
        """Enable MIG on a GPU and lay out its instances (replacing any previous layout)."""
        with self.lock:
            gpu = self.gpus[index]
            prod = gpu.product
            if not prod.mig_capable:
                raise MigLayoutError(f"gpu{index} is a {prod.name}, which does not support MIG")
            specs = [MigSpec(d) if isinstance(d, str) else d for d in devices]
            profiles = [prod.mig_profile(spec.profile) for spec in specs]
            for profile in set(profiles):
                if profiles.count(profile) > profile.instance_count:
                    raise MigLayoutError(
                        f"gpu{index} ({prod.name}) holds at most {profile.instance_count} "
                        f"x {profile.name}; the layout asks for {profiles.count(profile)}"
                    )
            if len(profiles) > prod.max_mig_devices:
                raise MigLayoutError(
                    f"gpu{index}: {len(profiles)} MIG devices exceed the maximum "
                    f"{prod.max_mig_devices} of a {prod.name}"
                )
            starts = self._layout(profiles, prod.mig_slots, max(p.slices for p in prod.mig_profiles))
            if starts is None:
                asked = " + ".join(p.name for p in profiles)
                raise MigLayoutError(
                    f"gpu{index} ({prod.name}): {asked} do not fit together "
                    f"({prod.mig_slots} memory slices, 7 compute slices at most)"
                )
            placed: list[MigDevice] = []
            used_ids: set[int] = {s.gi for s in specs if s.gi is not None}
            if len(used_ids) < sum(1 for s in specs if s.gi is not None):
                raise MigLayoutError(f"gpu{index}: a GPU instance id is used twice in {specs}")
            for spec, profile, start in zip(specs, profiles, starts, strict=True):
                gi = spec.gi
                if gi is None:
                    gi = self._next_gi(profile, used_ids)
                    used_ids.add(gi)
                ci = spec.ci if spec.ci is not None else 0
                uuid = spec.uuid or identities.mig_uuid(self.profile.seed, index, gi, ci)
                placed.append(MigDevice(profile, gi, ci, uuid, start, DeviceHandle(uuid)))
            gpu.mig_enabled = True
            gpu.mig = placed

    def disable_mig(self, index: int) -> None:
        with self.lock:
            gpu = self.gpus[index]
            if not gpu.product.mig_capable:
                raise MigLayoutError(f"gpu{index} is a {gpu.product.name}, which does not support MIG")
            gpu.mig_enabled = False
            gpu.mig = []

    @staticmethod
    def _layout(profiles: list[MigProfile], slots: int, compute: int) -> list[int] | None:
        """A start (in memory slices) for every instance, or None if they cannot all fit.

        A start is a multiple of the profile's width whose span stays within the memory
        slices and whose compute slices stay within the GPU's; spans must not overlap.
        Backtracking over at most seven instances is instant and finds layouts first-fit
        misses (3g + 2g + 1g + 1g on a 7-slice GPU).
        """
        order = sorted(range(len(profiles)), key=lambda i: -profiles[i].width)
        starts: list[int | None] = [None] * len(profiles)
        used: set[int] = set()

        def place(k: int) -> bool:
            if k == len(order):
                return True
            profile = profiles[order[k]]
            for start in range(0, slots, profile.width):
                span = set(range(start, start + profile.width))
                if start + profile.width > slots or start + profile.slices > compute or span & used:
                    continue
                used.update(span)
                starts[order[k]] = start
                if place(k + 1):
                    return True
                used.difference_update(span)
            return False

        return [s for s in starts if s is not None] if place(0) else None

    @staticmethod
    def _next_gi(profile: MigProfile, used: set[int]) -> int:
        # NVML gives the whole-GPU instance id 0 and numbers the others from 1.
        if profile.slices >= 7 and 0 not in used:
            return 0
        gi = 1
        while gi in used:
            gi += 1
        return gi

    # -- inspection -----------------------------------------------------------------------
    def info(self) -> list[NodeGpu]:
        with self.lock:
            return [
                NodeGpu(
                    index=g.index,
                    uuid=g.uuid,
                    name=g.product.name,
                    minor=g.spec.minor,
                    pci_bus_id=g.spec.pci_bus_id,
                    numa_node=g.spec.numa_node,
                    mig_enabled=g.mig_enabled,
                    mig_devices=[
                        MigDeviceInfo(
                            i,
                            m.uuid,
                            m.gi,
                            m.ci,
                            m.profile.name,
                            m.memory_mib,
                            f"{g.product.name} MIG {m.profile.name}",
                        )
                        for i, m in enumerate(g.mig_sorted())
                    ],
                    serial=g.spec.serial,
                    memory_mib=g.product.memory_mib,
                    lost=g.lost,
                    hidden=g.hidden,
                )
                for g in self.gpus
            ]
