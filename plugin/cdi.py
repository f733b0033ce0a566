"""CDI: the names Allocate hands out and the spec files behind them, as NVIDIA's v0.20 writes them.

With any CDI device-list strategy NVIDIA's plugin writes one spec file per class under
``/var/run/cdi`` (ours: ``--cdi-root``), named ``<vendor>-<class>.json``, vendor
``k8s.device-plugin.nvidia.com``: ``gpu`` (one device per GPU and MIG device, named by the device
id strategy, plus ``all``), ``imex-channel`` (one per selected channel), and ``gdrcopy``, ``gds``,
``mofed`` (one ``all`` device each) when enabled. A class whose devices would carry no edits is
not written, and then an enabled mode is not named in Allocate either (NVIDIA drops it).

What we generate of nvidia-container-toolkit's rich spec (internal/cdi, nvcdi): device nodes found
under the plugin's own dev root, moved to the host's ``--dev-root``; the common control nodes;
``NVIDIA_VISIBLE_DEVICES=void``; the ``enable-cuda-compat`` and ``disable-device-node-modification``
hooks through ``--nvidia-cdi-hook-path``, minus ``--cdi-disable-hooks`` (``all``: none; ``chmod``
is off by default); ``--cdi-feature-flags=enable-coherent-annotations`` adds each device's
``gpu.nvidia.com/coherent``. Driver library mounts and ldcache hooks are not generated (no driver
files on a simulated node): see docs/plugin.md, where we differ.
"""

from __future__ import annotations

import glob
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plugin.devicenodes import CONTROL_NODES, device_paths
from plugin.imex import Channel
from plugin.resources import Device

VENDOR = "k8s.device-plugin.nvidia.com"
DEFAULT_ROOT = "/var/run/cdi"
GPU, IMEX = "gpu", "imex-channel"
MODES = ("gdrcopy", "gds", "mofed")  # NVIDIA's order of the additional devices
ALL_HOOKS = "all"
DEFAULT_DISABLED_HOOKS = ("chmod",)
COHERENT_FLAG = "enable-coherent-annotations"
_MODE_NODES = {
    "gdrcopy": ("/dev/gdrdrv",),
    "gds": ("/dev/nvidia-fs*",),
    "mofed": ("/dev/infiniband/uverbs*", "/dev/infiniband/rdma_cm"),
}
_MODE_MOUNTS = {"gds": ("/run/udev", "/etc/cufile.json")}
_MOUNT_OPTIONS = ["ro", "nosuid", "nodev", "bind"]


def qualified(cls: str, name: str) -> str:
    """``k8s.device-plugin.nvidia.com/gpu=GPU-…``: a CDI qualified device name."""
    return f"{VENDOR}/{cls}={name}"


@dataclass(frozen=True)
class CdiOptions:
    root: str = DEFAULT_ROOT  # where spec files go
    hook_path: str = "/usr/bin/nvidia-ctk"
    disabled_hooks: tuple[str, ...] = ()
    feature_flags: tuple[str, ...] = ()
    id_strategy: str = "uuid"
    dev_root: str = "/"  # the plugin's own view of the device nodes
    host_dev_root: str = "/"  # where they are on the host (--dev-root)
    driver_root: str = "/"  # the plugin's own view of the driver root (files such as cufile.json)
    host_driver_root: str = "/"
    modes: tuple[str, ...] = ()  # enabled additional modes, of MODES
    driver_version: str = ""


def _under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _host(options: CdiOptions, found: str, root: str, host_root: str) -> str:
    """NVIDIA's root transform: a path found under our view of a root, as the host sees it."""
    relative = os.path.relpath(found, root)
    return os.path.normpath(os.path.join(host_root, relative))


def _node(options: CdiOptions, path: str, found: str) -> dict[str, Any]:
    node: dict[str, Any] = {"path": path}
    host = _host(options, found, options.dev_root, options.host_dev_root)
    if host != path:
        node["hostPath"] = host
    try:
        st = os.stat(found)
    except OSError:
        return node
    if stat.S_ISCHR(st.st_mode):
        node.update(type="c", major=os.major(st.st_rdev), minor=os.minor(st.st_rdev))
    return node


def _nodes(options: CdiOptions, patterns: Sequence[str]) -> list[dict[str, Any]]:
    nodes = []
    for pattern in patterns:
        for found in sorted(glob.glob(_under(options.dev_root, pattern))):
            path = "/" + os.path.relpath(found, options.dev_root)
            nodes.append(_node(options, path, found))
    return nodes


def _hooks(options: CdiOptions) -> list[dict[str, Any]]:
    disabled = set(options.disabled_hooks) | set(DEFAULT_DISABLED_HOOKS)
    if ALL_HOOKS in disabled:
        return []
    base = os.path.basename(options.hook_path)
    fixed = [base, "hook"] if base == "nvidia-ctk" else [base]
    wanted: list[tuple[str, list[str]]] = []
    if options.driver_version:
        wanted.append(("enable-cuda-compat", [f"--host-driver-version={options.driver_version}"]))
    wanted.append(("disable-device-node-modification", []))
    return [
        {
            "hookName": "createContainer",
            "path": options.hook_path,
            "args": [*fixed, name, *args],
            "env": ["NVIDIA_CTK_DEBUG=false"],
        }
        for name, args in wanted
        if name not in disabled
    ]


def _device_name(device: Device, id_strategy: str) -> str:
    return device.uuid if id_strategy == "uuid" else device.index


def _gpu_spec(options: CdiOptions, devices: Sequence[Device]) -> dict[str, Any]:
    entries = []
    merged: list[dict[str, Any]] = []
    for device in devices:
        nodes = _nodes(options, device_paths(device, options.driver_root))
        entry: dict[str, Any] = {"name": _device_name(device, options.id_strategy), "containerEdits": {}}
        if nodes:
            entry["containerEdits"]["deviceNodes"] = nodes
        if COHERENT_FLAG in options.feature_flags:
            entry["annotations"] = {"gpu.nvidia.com/coherent": "false"}
        entries.append(entry)
        merged.extend(n for n in nodes if n not in merged)
    if entries:
        entries.append({"name": "all", "containerEdits": {"deviceNodes": merged} if merged else {}})
    common: dict[str, Any] = {"env": ["NVIDIA_VISIBLE_DEVICES=void"]}
    control = _nodes(options, list(reversed(CONTROL_NODES)))  # nvcdi lists modeset first
    if control:
        common["deviceNodes"] = control
    hooks = _hooks(options)
    if hooks:
        common["hooks"] = hooks
    return _spec(GPU, entries, common)


def _imex_spec(channels: Sequence[Channel]) -> dict[str, Any]:
    entries = [
        {"name": c.id, "containerEdits": {"deviceNodes": [{"path": c.path, "hostPath": c.host_path}]}}
        for c in channels
    ]
    return _spec(IMEX, entries, None)


def _mode_spec(options: CdiOptions, mode: str) -> dict[str, Any]:
    edits: dict[str, Any] = {}
    nodes = _nodes(options, _MODE_NODES[mode])
    if nodes:
        edits["deviceNodes"] = nodes
    mounts = []
    for path in _MODE_MOUNTS.get(mode, ()):
        found = _under(options.driver_root, path)
        if os.path.exists(found):
            host = _host(options, found, options.driver_root, options.host_driver_root)
            mounts.append({"hostPath": host, "containerPath": path, "options": list(_MOUNT_OPTIONS)})
    if mounts:
        edits["mounts"] = mounts
    return _spec(mode, [{"name": "all", "containerEdits": edits}], None)


def _spec(cls: str, devices: list[dict[str, Any]], common: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"cdiVersion": "", "kind": f"{VENDOR}/{cls}", "devices": devices}
    if common:
        spec["containerEdits"] = common
    spec["cdiVersion"] = minimum_version(spec)
    return spec


def minimum_version(spec: dict[str, Any]) -> str:
    """The lowest CDI version that can carry ``spec`` (the CDI library's MinimumRequiredVersion rules)."""
    edits = [d["containerEdits"] for d in spec["devices"]] + [spec.get("containerEdits") or {}]
    if any(e.get("additionalGids") for e in edits):
        return "0.7.0"
    if spec.get("annotations") or any(d.get("annotations") for d in spec["devices"]):
        return "0.6.0"
    if "." in spec["kind"].split("/", 1)[1]:
        return "0.6.0"
    if any(d["name"][:1].isdigit() for d in spec["devices"]):
        return "0.5.0"
    if any(n.get("hostPath") for e in edits for n in e.get("deviceNodes", [])):
        return "0.5.0"
    if any(m.get("type") for e in edits for m in e.get("mounts", [])):
        return "0.4.0"
    return "0.3.0"


def _empty(spec: dict[str, Any]) -> bool:
    """The CDI library refuses to save a device without edits ("invalid device, empty device edits")."""
    return not spec["devices"] or any(not d["containerEdits"] for d in spec["devices"])


def spec_path(root: str, cls: str) -> str:
    return os.path.join(root, f"{VENDOR}-{cls}.json")


def write_specs(
    options: CdiOptions, devices: Sequence[Device], channels: Sequence[Channel], skipped: list[str]
) -> list[str]:
    """Write every class's spec file; returns the additional device names Allocate hands out."""
    specs = {GPU: _gpu_spec(options, devices)}
    if channels:
        specs[IMEX] = _imex_spec(channels)
    for mode in options.modes:
        specs[mode] = _mode_spec(options, mode)
    written = set()
    for cls, spec in specs.items():
        if _empty(spec):
            skipped.append(cls)
            continue
        os.makedirs(options.root, exist_ok=True)
        path = spec_path(options.root, cls)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(spec, handle, indent=2)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        written.add(cls)
    return [qualified(mode, "all") for mode in options.modes if mode in written]
