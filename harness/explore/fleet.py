"""A seeded fleet of realistic GPU nodes: product mixes, MIG layouts, NUMA/NVLink shapes, identities.

Each node is an inline node profile (``docs/node-profile.md``) that a scenario's ``node: {spec:
...}`` takes as it is, so a reproducer carries its node with it. Shapes come from the catalog
of :mod:`fake_nvml` (what an HGX, an inference box or a cloud VM holds); identities (GPU UUIDs,
serials, board part numbers, PCI addresses, host names) come from Faker.

Determinism: one ``Faker("en_US")`` per fleet, seeded with ``seed_instance`` (never the
class-wide ``Faker.seed``, which other code may also call), and every choice drawn from that
instance in a fixed order. The locale is pinned because providers differ per locale. So the
same seed gives the same fleet on every machine with the same Faker release; a test pins a few
identities so that a Faker upgrade that changes them is seen, not silently absorbed.

Node 0 is always the smallest shape (two GPUs): Hypothesis shrinks a node choice towards 0,
so a reproducer lands on the simplest node that still fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from fake_nvml import product

LOCALE = "en_US"

# (driver version, CUDA driver version): releases a fleet runs side by side.
DRIVERS = (
    ("535.183.01", 12020),
    ("550.127.05", 12040),
    ("560.35.03", 12060),
    ("570.133.20", 12080),
    ("580.65.06", 13000),
)


@dataclass(frozen=True)
class Shape:
    """One kind of machine: products in PCI order, NVLink and NUMA, and whether MIG may be on."""

    name: str
    products: tuple[tuple[str, int], ...]  # (catalog key, count)
    nvlink: str | list[list[int]] = "all"
    numa: str | None = None  # None: the node-profile default (halves); "unsupported": a VM
    vm: bool = False
    mig: bool = False  # the shape may run some GPUs in MIG mode
    # PCI buses of the GPUs, in order (the HGX boards' real layout); None: derived by the node
    buses: tuple[str, ...] | None = None
    part_prefix: str = "699-2G000-0000-0"

    @property
    def gpu_count(self) -> int:
        return sum(n for _, n in self.products)


HGX8 = ("18", "2a", "3a", "5d", "9a", "ab", "ba", "db")

# The first shape is the one shrinking lands on: small, plain, two GPUs.
SHAPES: tuple[Shape, ...] = (
    Shape("2xL4 inference", (("L4", 2),), nvlink="unsupported", part_prefix="900-2G193-0000-0"),
    Shape("8xH100 HGX", (("H100", 8),), mig=True, buses=HGX8, part_prefix="692-2G520-0200-0"),
    Shape("8xH200 HGX", (("H200", 8),), mig=True, buses=HGX8, part_prefix="692-2G520-0280-0"),
    Shape("8xA100-80GB HGX", (("A100-80GB", 8),), mig=True, part_prefix="692-2G506-0210-0"),
    Shape(
        "4xA100-40GB NVLink pairs",
        (("A100-40GB", 4),),
        nvlink=[[0, 1], [2, 3]],
        mig=True,
        part_prefix="692-2G506-0202-0",
    ),
    Shape("4xA30 MIG", (("A30", 4),), nvlink="unsupported", mig=True, part_prefix="900-21001-0040-0"),
    Shape("8xL40S", (("L40S", 8),), nvlink="unsupported", part_prefix="900-2G133-0080-0"),
    Shape("1xH100 cloud VM", (("H100", 1),), nvlink="unsupported", vm=True, part_prefix="692-2G520-0200-0"),
    Shape(
        "2xT4 edge", (("T4", 2),), nvlink="unsupported", numa="unsupported", part_prefix="900-2G183-0000-0"
    ),
    Shape(
        "1xH200+1xL4 mixed", (("H200", 1), ("L4", 1)), nvlink="unsupported", part_prefix="692-2G520-0280-0"
    ),
    Shape("8xB200 HGX", (("B200", 8),), mig=True, buses=HGX8, part_prefix="699-2G520-0200-0"),
    Shape("4xA10G cloud", (("A10G", 4),), nvlink="unsupported", part_prefix="900-2G133-0020-0"),
)

# MIG layouts by compute-slice shape; names are looked up per product (3g.40gb on an H100,
# 3g.20gb on an A100-40GB). A30s have 4 slices, so their layouts are their own.
MIG_LAYOUTS: dict[int, tuple[tuple[str, ...], ...]] = {
    7: (("3g", "3g"), ("3g", "2g", "1g", "1g"), ("1g",) * 7, ("7g",), ("4g", "2g", "1g")),
    4: (("2g", "2g"), ("2g", "1g", "1g"), ("1g",) * 4, ("4g",)),
}


@dataclass(frozen=True)
class FleetNode:
    """One node of the fleet: where it is, what it is, and its node profile."""

    index: int
    hostname: str
    shape: str
    profile: dict[str, Any] = field(hash=False)
    mig: dict[int, list[str]] = field(default_factory=dict, hash=False)  # GPU index → its MIG devices

    @property
    def gpu_count(self) -> int:
        return sum(int(g.get("count", 1)) for g in self.profile["gpus"])

    def describe(self) -> str:
        mig = f", MIG on gpu{', gpu'.join(str(i) for i in sorted(self.mig))}" if self.mig else ""
        return f"{self.hostname} ({self.shape}{mig}, driver {self.profile['driver_version']})"


def _profile_names(key: str, layout: tuple[str, ...]) -> list[str]:
    """'3g' → this product's 3g profile name (the plain one, not '+me' or a 2x-memory slice)."""
    names = [p.name for p in product(key).mig_profiles if "+" not in p.name]
    chosen = []
    for part in layout:
        matching = [n for n in names if n.startswith(part + ".")]
        chosen.append(min(matching, key=lambda n: float(n.split(".")[1].rstrip("gb"))))
    return chosen


def _node(fake: Faker, index: int, shape: Shape) -> FleetNode:
    driver, cuda = DRIVERS[fake.random_int(0, len(DRIVERS) - 1)]
    rack = fake.bothify("r##").lower()
    hostname = f"{fake.domain_word()}-{shape.products[0][0].split('-')[0].lower()}-{rack}-{index:02d}"
    gpus: list[dict[str, Any]] = []
    mig: dict[int, list[str]] = {}
    for key, count in shape.products:
        for _ in range(count):
            n = len(gpus)
            gpu: dict[str, Any] = {
                "product": key,
                "uuid": f"GPU-{fake.uuid4()}",
                "serial": fake.numerify("1" + "#" * 12),
                "board_part_number": shape.part_prefix + fake.numerify("##"),
            }
            if shape.buses is not None:
                gpu["pci_bus_id"] = f"00000000:{shape.buses[n].upper()}:00.0"
            if shape.mig and product(key).mig_capable and fake.random_int(0, 99) < 30:
                slices = 4 if product(key).mig_slots == 4 else 7
                layouts = MIG_LAYOUTS[slices]
                gpu["mig"] = _profile_names(key, layouts[fake.random_int(0, len(layouts) - 1)])
                mig[n] = list(gpu["mig"])
            gpus.append(gpu)
    topology: dict[str, Any] = {"nvlink": shape.nvlink}
    if shape.numa is not None:
        topology["numa"] = shape.numa
    profile: dict[str, Any] = {
        "driver_version": driver,
        "cuda_driver_version": cuda,
        "gpus": gpus,
        "topology": topology,
    }
    if shape.vm:
        profile["vm"] = True
    return FleetNode(index, hostname, shape.name, profile, mig)


def fleet(seed: int, size: int = 12) -> list[FleetNode]:
    """``size`` nodes for this seed: node 0 the smallest shape, the rest drawn from every shape."""
    fake = Faker(LOCALE)
    fake.seed_instance(seed)
    nodes = [_node(fake, 0, SHAPES[0])]
    for index in range(1, size):
        nodes.append(_node(fake, index, SHAPES[fake.random_int(0, len(SHAPES) - 1)]))
    return nodes
