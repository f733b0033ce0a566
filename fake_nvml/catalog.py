"""The products a simulated node can hold, with the facts NVML reports for them.

Names are exactly what ``nvmlDeviceGetName`` returns, memory is nvidia-smi's MiB, and MIG
GPU-instance profiles carry NVML's profile ids (``NVML_GPU_INSTANCE_PROFILE_*``), so that a
plugin that reads ``nvmlDeviceGetGpuInstanceProfileInfo`` sees realistic numbers. Values marked
approximate in docs/node-profile.md were not verified on hardware; the H100 row follows a real
H100 read through pynvml (domain facts, section F).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

import pynvml

# NVML GPU-instance profile ids (pynvml.NVML_GPU_INSTANCE_PROFILE_*).
P1 = pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE
P2 = pynvml.NVML_GPU_INSTANCE_PROFILE_2_SLICE
P3 = pynvml.NVML_GPU_INSTANCE_PROFILE_3_SLICE
P4 = pynvml.NVML_GPU_INSTANCE_PROFILE_4_SLICE
P7 = pynvml.NVML_GPU_INSTANCE_PROFILE_7_SLICE
P1_ME = pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1  # one slice with the media engines
P2_ME = pynvml.NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1
P1_2X = pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2  # one compute slice, two memory slices

ALL_EVENTS = pynvml.nvmlEventTypeAll  # 0xFF9F, what the real H100 reports as supported
EVENTS_WITHOUT_MIG = ALL_EVENTS & ~pynvml.nvmlEventMigConfigChange


@dataclass(frozen=True)
class MigProfile:
    """One GPU-instance profile: how many fit, how much memory, how wide a placement it takes.

    ``width`` is in memory slices (8 on a 7-slice GPU, 4 on an A30); placements start at
    multiples of ``width``, one per possible instance, which reproduces NVML's placement rules
    for the common profiles (two 3g at 0 and 4, three 2g at 0, 2, 4, ...).
    """

    id: int
    name: str
    instance_count: int
    memory_mib: int
    slices: int
    width: int
    sm_count: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "instance_count": self.instance_count,
            "memory_mib": self.memory_mib,
            "slices": self.slices,
            "width": self.width,
            "sm_count": self.sm_count,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MigProfile:
        return cls(
            **{
                k: data[k]
                for k in ("id", "name", "instance_count", "memory_mib", "slices", "width", "sm_count")
            }
        )


@dataclass(frozen=True)
class Product:
    """A GPU model as NVML describes it."""

    key: str
    name: str
    memory_mib: int
    cuda_cc: tuple[int, int]
    pci_device_id: int
    architecture: int
    brand: int = pynvml.NVML_BRAND_NVIDIA
    nvlinks: int = 0
    power_limit_mw: int = 300_000
    max_mig_devices: int = 0
    mig_profiles: tuple[MigProfile, ...] = ()
    supported_events: int = EVENTS_WITHOUT_MIG
    pci_subsystem_id: int = 0x16C110DE
    aliases: tuple[str, ...] = field(default=(), compare=False)

    @property
    def mig_capable(self) -> bool:
        return bool(self.mig_profiles)

    @property
    def mig_slots(self) -> int:
        """Memory slices available for GPU-instance placements."""
        return max((p.width for p in self.mig_profiles), default=0)

    def mig_profile(self, name_or_id: str | int) -> MigProfile:
        for profile in self.mig_profiles:
            if name_or_id in (profile.name, profile.id):
                return profile
        known = ", ".join(p.name for p in self.mig_profiles) or "none: this product has no MIG"
        raise ValueError(f"{self.name} has no MIG profile {name_or_id!r}; its profiles are: {known}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "memory_mib": self.memory_mib,
            "cuda_cc": list(self.cuda_cc),
            "pci_device_id": self.pci_device_id,
            "pci_subsystem_id": self.pci_subsystem_id,
            "architecture": self.architecture,
            "brand": self.brand,
            "nvlinks": self.nvlinks,
            "power_limit_mw": self.power_limit_mw,
            "max_mig_devices": self.max_mig_devices,
            "supported_events": self.supported_events,
            "mig_profiles": [p.to_dict() for p in self.mig_profiles],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], key: str | None = None) -> Product:
        """A product described inline in a node profile; unknown fields are refused."""
        allowed = set(
            cls(key="", name="", memory_mib=0, cuda_cc=(0, 0), pci_device_id=0, architecture=0).to_dict()
        )
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(
                f"unknown product field(s) {sorted(unknown)}; expected some of {sorted(allowed)}"
            )
        missing = {"name", "memory_mib", "cuda_cc"} - set(data)
        if missing:
            raise ValueError(f"a product needs {sorted(missing)} (got {sorted(data)})")
        base = _by_name(data["name"])
        fields: dict[str, Any] = {} if base is None else base.to_dict()
        fields.update(data)
        profiles = tuple(MigProfile.from_dict(p) for p in fields.get("mig_profiles", []))
        return cls(
            key=key or (base.key if base else data["name"]),
            name=fields["name"],
            memory_mib=int(fields["memory_mib"]),
            cuda_cc=tuple(fields["cuda_cc"]),
            pci_device_id=int(fields.get("pci_device_id", 0)),
            pci_subsystem_id=int(fields.get("pci_subsystem_id", 0x16C110DE)),
            architecture=int(fields.get("architecture", pynvml.NVML_DEVICE_ARCH_UNKNOWN)),
            brand=int(fields.get("brand", pynvml.NVML_BRAND_NVIDIA)),
            nvlinks=int(fields.get("nvlinks", 0)),
            power_limit_mw=int(fields.get("power_limit_mw", 300_000)),
            max_mig_devices=int(fields.get("max_mig_devices", 7 if profiles else 0)),
            mig_profiles=profiles,
            supported_events=int(
                fields.get("supported_events", ALL_EVENTS if profiles else EVENTS_WITHOUT_MIG)
            ),
        )


def _mig(*rows: tuple[int, str, int, int, int, int, int]) -> tuple[MigProfile, ...]:
    return tuple(MigProfile(*row) for row in rows)


_H100_MIG = _mig(
    (P1, "1g.10gb", 7, 9984, 1, 1, 16),
    (P1_ME, "1g.10gb+me", 1, 9984, 1, 1, 16),
    (P1_2X, "1g.20gb", 4, 20096, 1, 2, 26),
    (P2, "2g.20gb", 3, 20096, 2, 2, 32),
    (P3, "3g.40gb", 2, 40448, 3, 4, 60),
    (P4, "4g.40gb", 1, 40448, 4, 4, 64),
    (P7, "7g.80gb", 1, 81152, 7, 8, 132),
)
_A100_40_MIG = _mig(
    (P1, "1g.5gb", 7, 4864, 1, 1, 14),
    (P1_ME, "1g.5gb+me", 1, 4864, 1, 1, 14),
    (P1_2X, "1g.10gb", 4, 9856, 1, 2, 14),
    (P2, "2g.10gb", 3, 9856, 2, 2, 28),
    (P3, "3g.20gb", 2, 19968, 3, 4, 42),
    (P4, "4g.20gb", 1, 19968, 4, 4, 56),
    (P7, "7g.40gb", 1, 40192, 7, 8, 98),
)
_A100_80_MIG = _mig(
    (P1, "1g.10gb", 7, 9856, 1, 1, 14),
    (P1_ME, "1g.10gb+me", 1, 9856, 1, 1, 14),
    (P1_2X, "1g.20gb", 4, 19968, 1, 2, 14),
    (P2, "2g.20gb", 3, 19968, 2, 2, 28),
    (P3, "3g.40gb", 2, 40192, 3, 4, 42),
    (P4, "4g.40gb", 1, 40192, 4, 4, 56),
    (P7, "7g.80gb", 1, 80384, 7, 8, 98),
)
_H200_MIG = _mig(
    (P1, "1g.18gb", 7, 17920, 1, 1, 16),
    (P1_ME, "1g.18gb+me", 1, 17920, 1, 1, 16),
    (P1_2X, "1g.35gb", 4, 35584, 1, 2, 26),
    (P2, "2g.35gb", 3, 35584, 2, 2, 32),
    (P3, "3g.71gb", 2, 71424, 3, 4, 60),
    (P4, "4g.71gb", 1, 71424, 4, 4, 64),
    (P7, "7g.141gb", 1, 143360, 7, 8, 132),
)
_B200_MIG = _mig(
    (P1, "1g.23gb", 7, 23040, 1, 1, 18),
    (P1_ME, "1g.23gb+me", 1, 23040, 1, 1, 18),
    (P1_2X, "1g.45gb", 4, 45312, 1, 2, 18),
    (P2, "2g.45gb", 3, 45312, 2, 2, 36),
    (P3, "3g.90gb", 2, 90624, 3, 4, 54),
    (P4, "4g.90gb", 1, 90624, 4, 4, 72),
    (P7, "7g.180gb", 1, 181248, 7, 8, 148),
)
_A30_MIG = _mig(
    (P1, "1g.6gb", 4, 5888, 1, 1, 14),
    (P1_ME, "1g.6gb+me", 1, 5888, 1, 1, 14),
    (P2, "2g.12gb", 2, 11904, 2, 2, 28),
    (P2_ME, "2g.12gb+me", 1, 11904, 2, 2, 28),
    (P4, "4g.24gb", 1, 24192, 4, 4, 56),
)

_A = pynvml
PRODUCTS: dict[str, Product] = {
    p.key: p
    for p in (
        Product(
            "H100",
            "NVIDIA H100 80GB HBM3",
            81559,
            (9, 0),
            0x233010DE,
            _A.NVML_DEVICE_ARCH_HOPPER,
            nvlinks=18,
            power_limit_mw=700_000,
            max_mig_devices=7,
            mig_profiles=_H100_MIG,
            supported_events=ALL_EVENTS,
            aliases=("H100-SXM", "H100-SXM5", "H100-80GB", "H100-HBM3"),
        ),
        Product(
            "H100-PCIE",
            "NVIDIA H100 PCIe",
            81559,
            (9, 0),
            0x233110DE,
            _A.NVML_DEVICE_ARCH_HOPPER,
            power_limit_mw=350_000,
            max_mig_devices=7,
            mig_profiles=_H100_MIG,
            supported_events=ALL_EVENTS,
            aliases=("H100PCIE",),
        ),
        Product(
            "H200",
            "NVIDIA H200",
            143771,
            (9, 0),
            0x233510DE,
            _A.NVML_DEVICE_ARCH_HOPPER,
            nvlinks=18,
            power_limit_mw=700_000,
            max_mig_devices=7,
            mig_profiles=_H200_MIG,
            supported_events=ALL_EVENTS,
            aliases=("H200-SXM", "H200-141GB", "H200-NVL"),
        ),
        Product(
            "A100-80GB",
            "NVIDIA A100-SXM4-80GB",
            81920,
            (8, 0),
            0x20B210DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            nvlinks=12,
            power_limit_mw=400_000,
            max_mig_devices=7,
            mig_profiles=_A100_80_MIG,
            supported_events=ALL_EVENTS,
            aliases=("A100-SXM4-80GB", "A100-SXM-80GB"),
        ),
        Product(
            "A100-40GB",
            "NVIDIA A100-SXM4-40GB",
            40960,
            (8, 0),
            0x20B010DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            nvlinks=12,
            power_limit_mw=400_000,
            max_mig_devices=7,
            mig_profiles=_A100_40_MIG,
            supported_events=ALL_EVENTS,
            aliases=("A100", "A100-SXM4-40GB", "A100-SXM-40GB"),
        ),
        Product(
            "A100-80GB-PCIE",
            "NVIDIA A100 80GB PCIe",
            81920,
            (8, 0),
            0x20B510DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            power_limit_mw=300_000,
            max_mig_devices=7,
            mig_profiles=_A100_80_MIG,
            supported_events=ALL_EVENTS,
            aliases=("A100-PCIE-80GB",),
        ),
        Product(
            "A100-40GB-PCIE",
            "NVIDIA A100-PCIE-40GB",
            40960,
            (8, 0),
            0x20F110DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            power_limit_mw=250_000,
            max_mig_devices=7,
            mig_profiles=_A100_40_MIG,
            supported_events=ALL_EVENTS,
            aliases=("A100-PCIE-40GB", "A100-PCIE"),
        ),
        Product(
            "A30",
            "NVIDIA A30",
            24576,
            (8, 0),
            0x20B710DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            power_limit_mw=165_000,
            max_mig_devices=4,
            mig_profiles=_A30_MIG,
            supported_events=ALL_EVENTS,
        ),
        Product("L4", "NVIDIA L4", 23034, (8, 9), 0x27B810DE, _A.NVML_DEVICE_ARCH_ADA, power_limit_mw=72_000),
        Product(
            "A10G",
            "NVIDIA A10G",
            23028,
            (8, 6),
            0x223710DE,
            _A.NVML_DEVICE_ARCH_AMPERE,
            power_limit_mw=300_000,
        ),
        Product(
            "L40S", "NVIDIA L40S", 46068, (8, 9), 0x26B910DE, _A.NVML_DEVICE_ARCH_ADA, power_limit_mw=350_000
        ),
        Product(
            "T4",
            "Tesla T4",
            15360,
            (7, 5),
            0x1EB810DE,
            _A.NVML_DEVICE_ARCH_TURING,
            brand=_A.NVML_BRAND_TESLA,
            power_limit_mw=70_000,
        ),
        Product(
            "V100-16GB",
            "Tesla V100-SXM2-16GB",
            16160,
            (7, 0),
            0x1DB110DE,
            _A.NVML_DEVICE_ARCH_VOLTA,
            brand=_A.NVML_BRAND_TESLA,
            nvlinks=6,
            aliases=("V100", "V100-SXM2-16GB"),
        ),
        Product(
            "V100-32GB",
            "Tesla V100-SXM2-32GB",
            32768,
            (7, 0),
            0x1DB510DE,
            _A.NVML_DEVICE_ARCH_VOLTA,
            brand=_A.NVML_BRAND_TESLA,
            nvlinks=6,
            aliases=("V100-SXM2-32GB",),
        ),
        Product(
            "B200",
            "NVIDIA B200",
            183359,
            (10, 0),
            0x2B0010DE,
            _A.NVML_DEVICE_ARCH_BLACKWELL,
            nvlinks=18,
            power_limit_mw=1_000_000,
            max_mig_devices=7,
            mig_profiles=_B200_MIG,
            supported_events=ALL_EVENTS,
            aliases=("B200-SXM", "B200-180GB"),
        ),
    )
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip()).upper()


def _by_name(name: str) -> Product | None:
    """The catalog product NVML reports under ``name`` (also without the old-driver prefix)."""
    for product in PRODUCTS.values():
        if name in (product.name, product.name.removeprefix("NVIDIA ")):
            return product
    return None


def products() -> list[Product]:
    """Every product in the catalog."""
    return list(PRODUCTS.values())


def product(name: str) -> Product:
    """Look a product up by key (``H100``), alias (``A100``) or NVML name; the error lists the choices."""
    wanted = _norm(name)
    for p in PRODUCTS.values():
        if wanted in {_norm(p.key), _norm(p.name), *(_norm(a) for a in p.aliases)}:
            return p
    by_name = _by_name(name.strip())
    if by_name is not None:
        return by_name
    choices = sorted(PRODUCTS)
    close = difflib.get_close_matches(wanted, choices, n=3)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown GPU product {name!r}.{hint} Known products: {', '.join(choices)} "
        "(or an NVML name such as 'NVIDIA H100 80GB HBM3', or an inline product in a node profile)"
    )
