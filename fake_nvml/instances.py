"""MIG GPU and compute instances as NVML exposes them: their handles, info records and profiles.

NVML names an instance by an opaque handle; here a handle is its name (the parent GPU's UUID and
the instance ids), so it survives the trip over the node protocol and compares equal when it
names the same instance. pynvml's info structs hold device and instance pointers, which ctypes
cannot point at simulated devices, so those two are records with the same field names.
The node model lays each MIG device out as one GPU instance with one compute instance that
spans it, which is how the harness and both plugins see MIG devices.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pynvml

from fake_nvml.catalog import MigProfile

# NVML's compute-instance profiles, by index: how many compute slices each takes.
CI_PROFILE_SLICES = (1, 2, 3, 4, 7, 8, 6)


class GpuInstanceHandle:
    """``nvmlGpuInstance_t``: GPU instance ``id`` of the GPU ``device`` (its UUID)."""

    __slots__ = ("device", "id")

    def __init__(self, device: str, id: int) -> None:
        self.device = device
        self.id = id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GpuInstanceHandle) and (other.device, other.id) == (self.device, self.id)

    def __hash__(self) -> int:
        return hash((self.device, self.id))

    def __repr__(self) -> str:
        return f"<nvmlGpuInstance {self.device}/{self.id}>"


class ComputeInstanceHandle:
    """``nvmlComputeInstance_t``: compute instance ``id`` of GPU instance ``gpuInstance``."""

    __slots__ = ("device", "gpuInstance", "id")

    def __init__(self, device: str, gpuInstance: int, id: int) -> None:
        self.device = device
        self.gpuInstance = gpuInstance
        self.id = id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComputeInstanceHandle) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, int, int]:
        return (self.device, self.gpuInstance, self.id)

    def __repr__(self) -> str:
        return f"<nvmlComputeInstance {self.device}/{self.gpuInstance}/{self.id}>"


class Record:
    """A pynvml struct with handle fields, as attributes of the same names (``struct`` names it)."""

    struct: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.fields:
            setattr(self, name, values.get(name))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, n) == getattr(other, n) for n in self.fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.fields)})"


class GpuInstanceInfo(Record):
    struct = "c_nvmlGpuInstanceInfo_t"
    fields = ("device", "id", "profileId", "placement")


class ComputeInstanceInfo(Record):
    struct = "c_nvmlComputeInstanceInfo_t"
    fields = ("device", "gpuInstance", "id", "profileId", "placement")


RECORDS: dict[str, type[Record]] = {cls.struct: cls for cls in (GpuInstanceInfo, ComputeInstanceInfo)}


def gpu_instance_placement(start: int, profile: MigProfile) -> Any:
    return pynvml.c_nvmlGpuInstancePlacement_t(start=start, size=profile.width)


def compute_profile_index(profile: MigProfile) -> int:
    """The compute-instance profile of a compute instance that spans the whole GPU instance."""
    return CI_PROFILE_SLICES.index(profile.slices) if profile.slices in CI_PROFILE_SLICES else 0


def compute_profile_info(gi_profile: MigProfile, profile: int, version: int) -> Any:
    """``nvmlGpuInstanceGetComputeInstanceProfileInfo`` for a GPU instance of ``gi_profile``."""
    slices = CI_PROFILE_SLICES[profile]
    info: Any = (
        pynvml.c_nvmlComputeInstanceProfileInfo_v2_t()
        if version == 2
        else pynvml.c_nvmlComputeInstanceProfileInfo_t()
    )
    info.id = profile
    info.sliceCount = slices
    info.instanceCount = gi_profile.slices // slices
    info.multiprocessorCount = gi_profile.sm_count * slices // max(1, gi_profile.slices)
    info.sharedCopyEngineCount = max(1, gi_profile.slices)
    info.sharedDecoderCount = gi_profile.slices if gi_profile.slices < 7 else 7
    info.sharedEncoderCount = 0
    info.sharedJpegCount = 1 if gi_profile.name.endswith("+me") or gi_profile.slices == 7 else 0
    info.sharedOfaCount = info.sharedJpegCount
    if version == 2:
        info.version = getattr(pynvml, "nvmlComputeInstanceProfileInfo_v2", 0)
        name = f"{slices}c.{gi_profile.name}" if slices < gi_profile.slices else gi_profile.name
        info.name = name.encode()
    return info


def device_attributes(profile: MigProfile) -> Any:
    """``nvmlDeviceGetAttributes`` of a MIG device of ``profile`` (one compute instance spanning it)."""
    return pynvml.c_nvmlDeviceAttributes(
        multiprocessorCount=profile.sm_count,
        sharedCopyEngineCount=max(1, profile.slices),
        sharedDecoderCount=profile.slices if profile.slices < 7 else 7,
        sharedEncoderCount=0,
        sharedJpegCount=1 if profile.name.endswith("+me") or profile.slices == 7 else 0,
        sharedOfaCount=1 if profile.name.endswith("+me") or profile.slices == 7 else 0,
        gpuInstanceSliceCount=profile.slices,
        computeInstanceSliceCount=profile.slices,
        memorySizeMB=profile.memory_mib,
    )
