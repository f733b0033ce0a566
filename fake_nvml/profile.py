"""Node profiles: what a simulated node holds, from a shorthand, a YAML file or a dict.

The schema is documented in docs/node-profile.md. Everything is resolved here (identities
from the seed, default topology), so the model in ``node.py`` only ever sees concrete values,
and a recorded profile of a real machine replays exactly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fake_nvml import identities
from fake_nvml.catalog import Product, product

DEFAULT_DRIVER = "580.159.04"
DEFAULT_CUDA = 13000

TOP_KEYS = {
    "seed",
    "driver_version",
    "cuda_driver_version",
    "nvml_version",
    "vm",
    "gpus",
    "topology",
    "products",
}
GPU_KEYS = {
    "product",
    "count",
    "uuid",
    "serial",
    "pci_bus_id",
    "minor",
    "numa_node",
    "mig",
    "memory_used_mib",
    "supported_events",
    "board_part_number",
}
MIG_KEYS = {"enabled", "devices"}
MIG_DEVICE_KEYS = {"profile", "gi", "ci", "uuid"}
TOPOLOGY_KEYS = {"numa", "nvlink", "pcie", "cpus"}
UNSUPPORTED = "unsupported"


# A budget, not a model limit: all-pairs NVLink wiring and the uniqueness checks grow with the
# square of the GPU count, so a typo such as 100000xH100 must fail at once, not exhaust memory.
MAX_GPUS = 256


class ProfileError(ValueError):
    """A node profile is wrong; the message says where (file:line, key path) and what was expected."""


class TooManyGpus(ProfileError):
    """A profile asks for more GPUs than ``max_gpus`` (raised before any GPU is built)."""

    def __init__(self, source: str, gpus: int, limit: int) -> None:
        super().__init__(
            f"{source}: {gpus} GPUs is more than the {limit} a simulated node may have (max_gpus)"
        )
        self.gpus = gpus
        self.limit = limit


@dataclass
class MigSpec:
    profile: str
    gi: int | None = None
    ci: int | None = None
    uuid: str | None = None


@dataclass
class GpuSpec:
    product: Product
    uuid: str
    serial: str
    pci_bus_id: str
    minor: int
    numa_node: int | None
    mig_enabled: bool = False
    mig_devices: list[MigSpec] = field(default_factory=list)
    memory_used_mib: int = 0
    supported_events: int | None = None
    board_part_number: str = ""


@dataclass
class NodeProfile:
    """A fully resolved node: every GPU with its identity, and the topology NVML will report."""

    gpus: list[GpuSpec]
    seed: int | str = 0
    driver_version: str = DEFAULT_DRIVER
    cuda_driver_version: int = DEFAULT_CUDA
    nvml_version: str = ""
    numa_supported: bool = True
    nvlink_supported: bool = True
    nvlink_pairs: list[tuple[int, int]] = field(default_factory=list)
    pcie_supported: bool = True
    vm: bool = False
    # Not NVML: CPUs per NUMA node, for the fake kubelet's TopologyManager (empty: not declared).
    cpus_per_numa: dict[int, int] = field(default_factory=dict)


_SHORTHAND = re.compile(r"^\s*(?:(\d+)\s*[xX*\u00d7]\s*)?([A-Za-z][\w .+\-]*?)\s*$")


def looks_like_shorthand(spec: str) -> bool:
    return not (spec.endswith((".yaml", ".yml", ".json")) or os.sep in spec)


def shorthand_to_dict(spec: str) -> dict[str, Any]:
    """``"4xH100"``, ``"2xH100+2xT4"`` → the profile dict with one GPU entry per part."""
    gpus = []
    for part in re.split(r"[+,]", spec):
        match = _SHORTHAND.match(part)
        if not match or not part.strip():
            raise ProfileError(
                f"node shorthand {spec!r}: {part!r} is not COUNTxPRODUCT (e.g. '4xH100', "
                "'8xA100-80GB', '2xT4', '1xH200+1xL4')"
            )
        count = int(match.group(1) or 1)
        if count < 1:
            raise ProfileError(f"node shorthand {spec!r}: a node needs at least one GPU per part")
        try:
            product(match.group(2))
        except ValueError as exc:
            raise ProfileError(f"node shorthand {spec!r}: {exc}") from None
        gpus.append({"product": match.group(2), "count": count})
    return {"gpus": gpus}


def load(
    spec: str | os.PathLike[str] | dict[str, Any], *, seed: int | str = 0, max_gpus: int = MAX_GPUS
) -> NodeProfile:
    """Resolve a shorthand, a profile file or a dict into a :class:`NodeProfile` (at most ``max_gpus``)."""
    source = "profile"
    lines: _LineFinder | None = None
    if isinstance(spec, dict):
        data = spec
    elif isinstance(spec, (str, os.PathLike)) and Path(spec).is_file():
        source = str(spec)
        text = Path(spec).read_text()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProfileError(f"{source}: not valid YAML: {exc}") from None
        lines = _LineFinder(text)
        if not isinstance(data, dict):
            raise ProfileError(
                f"{source}: a node profile is a mapping with a 'gpus' list (see docs/node-profile.md)"
            )
    elif isinstance(spec, str) and looks_like_shorthand(spec):
        data = shorthand_to_dict(spec)
        source = f"shorthand {spec!r}"
    else:
        raise ProfileError(
            f"node profile {spec!s} does not exist; give a shorthand like '4xH100', a YAML file, or a dict"
        )
    try:
        return _Resolver(data, seed, source, max_gpus).resolve()
    except _KeyError as exc:
        where = f"{source}:{lines.line(exc.path)}" if lines else source
        raise ProfileError(f"{where}: {exc.path_text}: {exc.message}") from None


class _KeyError(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    @property
    def path_text(self) -> str:
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text or "(top)"


class _LineFinder:
    """Maps a key path to the YAML line it came from, for error messages."""

    def __init__(self, text: str) -> None:
        try:
            self.root = yaml.compose(text)
        except yaml.YAMLError:
            self.root = None

    def line(self, path: tuple[str | int, ...]) -> int:
        node = self.root
        line = 1
        for part in path:
            if node is None:
                break
            line = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                node = None
        if node is not None:
            line = node.start_mark.line + 1
        return line


def _check_keys(data: Any, allowed: set[str], path: tuple[str | int, ...], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _KeyError(path, f"{what} must be a mapping, got {data!r}")
    unknown = set(data) - allowed
    if unknown:
        raise _KeyError(
            (*path, sorted(unknown)[0]), f"unknown key; {what} takes {', '.join(sorted(allowed))}"
        )
    return data


class _Resolver:
    def __init__(self, data: dict[str, Any], seed: int | str, source: str, max_gpus: int) -> None:
        self.data = _check_keys(data, TOP_KEYS, (), "a node profile")
        self.seed = data.get("seed", seed)
        self.source = source
        self.max_gpus = max_gpus

    def resolve(self) -> NodeProfile:
        d = self.data
        custom = self._custom_products()
        entries = d.get("gpus")
        if not isinstance(entries, list) or not entries:
            raise _KeyError(("gpus",), "a node profile needs a non-empty 'gpus' list")
        raw: list[tuple[tuple[str | int, ...], dict[str, Any], Product]] = []
        for i, entry in enumerate(entries):
            path: tuple[str | int, ...] = ("gpus", i)
            if isinstance(entry, str):
                entry = {"product": entry}
            entry = _check_keys(entry, GPU_KEYS, path, "a GPU entry")
            prod = self._product(entry.get("product"), custom, (*path, "product"))
            count = entry.get("count", 1)
            if not isinstance(count, int) or count < 1:
                raise _KeyError((*path, "count"), f"count must be a positive integer, got {count!r}")
            if count > 1 and {"uuid", "serial", "pci_bus_id", "minor"} & set(entry):
                raise _KeyError(path, "uuid/serial/pci_bus_id/minor name one GPU; use count: 1 entries")
            if len(raw) + count > self.max_gpus:
                total = len(raw) + sum(_count(e) for e in entries[i:])
                raise TooManyGpus(self.source, total, self.max_gpus)
            raw.extend((path, entry, prod) for _ in range(count))
        vm = bool(d.get("vm", False))
        topo = _check_keys(d.get("topology", {}) or {}, TOPOLOGY_KEYS, ("topology",), "topology")
        numa = self._numa(topo, raw, vm)
        cpus = self._cpus(topo)
        pairs, nvlink_ok = self._nvlink(topo, raw, vm)
        pcie = topo.get("pcie", UNSUPPORTED if vm else "supported")
        if pcie not in ("supported", UNSUPPORTED):
            raise _KeyError(("topology", "pcie"), f"pcie is 'supported' or 'unsupported', got {pcie!r}")
        buses = identities.pci_buses(self.seed, numa)
        gpus: list[GpuSpec] = []
        for index, (path, entry, prod) in enumerate(raw):
            bus = identities.bus_id(0, 6 + index) if vm else identities.bus_id(buses[index])
            if "pci_bus_id" in entry:
                if not isinstance(entry["pci_bus_id"], str):
                    raise _KeyError(
                        (*path, "pci_bus_id"),
                        f"YAML read {entry['pci_bus_id']!r}, not a bus id: "
                        "quote it, e.g. pci_bus_id: '00000000:3B:00.0'",
                    )
                try:
                    bus = identities.normalise_bus_id(str(entry["pci_bus_id"]))
                except ValueError as exc:
                    raise _KeyError((*path, "pci_bus_id"), str(exc)) from None
            enabled, devices = self._mig(entry.get("mig"), prod, (*path, "mig"))
            gpus.append(
                GpuSpec(
                    product=prod,
                    uuid=str(entry.get("uuid", identities.gpu_uuid(self.seed, index))),
                    serial=str(entry.get("serial", identities.serial(self.seed, index))),
                    pci_bus_id=bus,
                    minor=int(entry.get("minor", index)),
                    numa_node=numa[index],
                    mig_enabled=enabled,
                    mig_devices=devices,
                    memory_used_mib=int(entry.get("memory_used_mib", 0)),
                    supported_events=entry.get("supported_events"),
                    board_part_number=str(entry.get("board_part_number", "")),
                )
            )
        self._check_unique(gpus)
        driver = str(d.get("driver_version", DEFAULT_DRIVER))
        cuda = int(d.get("cuda_driver_version", DEFAULT_CUDA))
        return NodeProfile(
            gpus=gpus,
            seed=self.seed,
            driver_version=driver,
            cuda_driver_version=cuda,
            nvml_version=str(d.get("nvml_version", f"{cuda // 1000}.{driver}")),
            numa_supported=numa_supported(topo, vm),
            nvlink_supported=nvlink_ok,
            nvlink_pairs=pairs,
            pcie_supported=pcie == "supported",
            vm=vm,
            cpus_per_numa=cpus,
        )

    def _custom_products(self) -> dict[str, Product]:
        found: dict[str, Product] = {}
        for key, body in (self.data.get("products") or {}).items():
            try:
                found[key] = Product.from_dict(body, key=key)
            except (ValueError, TypeError, KeyError) as exc:
                raise _KeyError(("products", key), str(exc)) from None
        return found

    def _product(self, name: Any, custom: dict[str, Product], path: tuple[str | int, ...]) -> Product:
        if isinstance(name, dict):
            try:
                return Product.from_dict(name)
            except (ValueError, TypeError, KeyError) as exc:
                raise _KeyError(path, str(exc)) from None
        if not isinstance(name, str):
            raise _KeyError(path, f"product must be a catalog name such as 'H100', got {name!r}")
        if name in custom:
            return custom[name]
        for p in custom.values():
            if p.name == name:
                return p
        try:
            return product(name)
        except ValueError as exc:
            raise _KeyError(path, str(exc)) from None

    def _cpus(self, topo: dict[str, Any]) -> dict[int, int]:
        """``cpus: [32, 32]`` (one count per NUMA node, in node order) or ``{0: 32, 1: 32}``."""
        value = topo.get("cpus")
        if value is None:
            return {}
        pairs = (
            list(enumerate(value))
            if isinstance(value, list)
            else list(value.items())
            if isinstance(value, dict)
            else []
        )
        if not pairs or not all(isinstance(k, int) and isinstance(v, int) and v >= 0 for k, v in pairs):
            raise _KeyError(
                ("topology", "cpus"),
                f"cpus is a list of CPU counts, one per NUMA node (e.g. [32, 32]), or a mapping "
                f"NUMA node -> count, got {value!r}",
            )
        return dict(pairs)

    def _numa(self, topo: dict[str, Any], raw: list[Any], vm: bool) -> list[int | None]:
        n = len(raw)
        explicit = [entry.get("numa_node") for _, entry, _ in raw]
        value = topo.get("numa", UNSUPPORTED if vm else None)
        if value == UNSUPPORTED:
            return [None] * n
        if value is None:
            default = [0 if n < 4 or i < n // 2 else 1 for i in range(n)]
            return [e if e is not None else default[i] for i, e in enumerate(explicit)]
        if not isinstance(value, list) or len(value) != n or not all(isinstance(v, int) for v in value):
            raise _KeyError(
                ("topology", "numa"),
                f"numa is 'unsupported' or a list of {n} integers (one per GPU), got {value!r}",
            )
        return list(value)

    def _nvlink(self, topo: dict[str, Any], raw: list[Any], vm: bool) -> tuple[list[tuple[int, int]], bool]:
        n = len(raw)
        value = topo.get("nvlink", UNSUPPORTED if vm else None)
        capable = [i for i, (_, _, p) in enumerate(raw) if p.nvlinks > 0]
        if value == UNSUPPORTED or (value is None and not capable):
            return [], False
        if value is None or value == "all":
            return [(a, b) for a in capable for b in capable if a < b], True
        if value == "none":
            return [], True
        pairs: list[tuple[int, int]] = []
        if isinstance(value, list):
            for k, pair in enumerate(value):
                ok = (
                    isinstance(pair, (list, tuple))
                    and len(pair) == 2
                    and all(isinstance(x, int) and 0 <= x < n for x in pair)
                    and pair[0] != pair[1]
                )
                if not ok:
                    raise _KeyError(
                        ("topology", "nvlink", k),
                        f"an NVLink pair is two different GPU indices in 0..{n - 1}, got {pair!r}",
                    )
                a, b = sorted(pair)
                if a not in capable or b not in capable:
                    raise _KeyError(
                        ("topology", "nvlink", k), f"GPU {a if a not in capable else b} has no NVLink"
                    )
                if (a, b) not in pairs:
                    pairs.append((a, b))
            return sorted(pairs), True
        raise _KeyError(
            ("topology", "nvlink"),
            f"nvlink is 'all', 'none', 'unsupported' or a list of [a, b] pairs, got {value!r}",
        )

    def _mig(self, value: Any, prod: Product, path: tuple[str | int, ...]) -> tuple[bool, list[MigSpec]]:
        if value in (None, False):
            return False, []
        if value is True:
            value = {"enabled": True}
        elif isinstance(value, list):
            value = {"enabled": True, "devices": value}
        value = _check_keys(value, MIG_KEYS, path, "mig")
        enabled = bool(value.get("enabled", True))
        if enabled and not prod.mig_capable:
            raise _KeyError(path, f"{prod.name} does not support MIG")
        devices: list[MigSpec] = []
        for k, dev in enumerate(value.get("devices") or []):
            dpath = (*path, "devices", k)
            if isinstance(dev, str):
                dev = {"profile": dev}
            dev = _check_keys(dev, MIG_DEVICE_KEYS, dpath, "a MIG device")
            try:
                prod.mig_profile(str(dev.get("profile")))
            except ValueError as exc:
                raise _KeyError((*dpath, "profile"), str(exc)) from None
            devices.append(MigSpec(str(dev["profile"]), dev.get("gi"), dev.get("ci"), dev.get("uuid")))
        if devices and not enabled:
            raise _KeyError(path, "MIG devices are listed but mig.enabled is false")
        return enabled, devices

    @staticmethod
    def _check_unique(gpus: list[GpuSpec]) -> None:
        for attr in ("uuid", "pci_bus_id", "minor"):
            values = [getattr(g, attr) for g in gpus]
            for i, v in enumerate(values):
                if v in values[:i]:
                    raise _KeyError(("gpus", i, attr), f"{attr} {v!r} is used by GPU {values.index(v)} too")


def _count(entry: Any) -> int:
    count = entry.get("count", 1) if isinstance(entry, dict) else 1
    return count if isinstance(count, int) and count > 0 else 1


def numa_supported(topo: dict[str, Any], vm: bool) -> bool:
    return topo.get("numa", UNSUPPORTED if vm else None) != UNSUPPORTED
