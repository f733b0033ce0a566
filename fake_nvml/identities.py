"""Deterministic identities for simulated GPUs: the same seed gives the same node.

Derived from SHA-256 of ``(seed, role, index)`` rather than a random generator so that one
GPU's identity does not change when another GPU is added to a profile.
"""

from __future__ import annotations

import hashlib


def _digest(seed: int | str, *parts: object) -> bytes:
    text = ":".join(str(p) for p in (seed, *parts))
    return hashlib.sha256(text.encode()).digest()


def _uuid_hex(raw: bytes) -> str:
    h = raw[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def gpu_uuid(seed: int | str, index: int) -> str:
    """``GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` (lowercase hex, as NVML prints it)."""
    return "GPU-" + _uuid_hex(_digest(seed, "gpu", index))


def mig_uuid(seed: int | str, gpu_index: int, gi: int, ci: int) -> str:
    """Modern (R470+) MIG UUID ``MIG-xxxxxxxx-...``."""
    return "MIG-" + _uuid_hex(_digest(seed, "mig", gpu_index, gi, ci))


def serial(seed: int | str, index: int) -> str:
    """A 13-digit board serial, like the ones NVML reports on data-centre boards."""
    number = int.from_bytes(_digest(seed, "serial", index)[:8], "big") % 10**12
    return f"1{number:012d}"


def pci_buses(seed: int | str, numa_nodes: list[int | None]) -> list[int]:
    """One PCI bus number per GPU, ascending in index order, each socket in its own range.

    NVML enumerates GPUs in PCI bus order, so bus numbers must rise with the index; GPUs on
    NUMA node 1 sit above 0x80 as on a two-socket server.
    """
    buses: list[int] = []
    current = 0x0F
    for index, numa in enumerate(numa_nodes):
        if numa:
            current = max(current, 0x7F + 0x20 * (numa - 1))
        remaining = len(numa_nodes) - index
        room = max(1, min(15, (0xF8 - current) // remaining))
        current += 1 + _digest(seed, "bus", index)[0] % room
        buses.append(current)
    return buses


def bus_id(bus: int, device: int = 0, domain: int = 0) -> str:
    """NVML's ``busId`` form: 8-hex domain, uppercase, e.g. ``00000000:3B:00.0``."""
    return f"{domain:08X}:{bus:02X}:{device:02X}.0"


def legacy_bus_id(full: str) -> str:
    """``busIdLegacy``: the same id with a 4-hex domain, ``0000:3B:00.0``."""
    domain, rest = full.split(":", 1)
    return f"{int(domain, 16):04X}:{rest}"


def parse_bus_id(text: str) -> tuple[int, int, int]:
    """(domain, bus, device) from either form; ValueError names the expected shape."""
    try:
        domain, bus, rest = text.strip().split(":")
        device = rest.split(".")[0]
        return int(domain, 16), int(bus, 16), int(device, 16)
    except ValueError:
        raise ValueError(f"PCI bus id {text!r} is not of the form 00000000:3B:00.0") from None


def normalise_bus_id(text: str) -> str:
    domain, bus, device = parse_bus_id(text)
    return bus_id(bus, device, domain)
