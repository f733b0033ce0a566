"""Device nodes for ``--pass-device-specs``: the control nodes and each device's own nodes.

Only nodes that exist under ``--dev-root`` are passed (a DeviceSpec for a missing node would fail
the container start). A MIG device needs its parent's ``/dev/nvidia<minor>`` and the capability
nodes ``/dev/nvidia-caps/nvidia-cap<N>`` whose minor numbers the driver publishes in
``/proc/driver/nvidia/capabilities/gpu<minor>/mig/gi<g>[/ci<c>]/access`` (read under the driver root).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from plugin.resources import Device

CONTROL_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset")
_CAP_MINOR = re.compile(r"^DeviceFileMinor:\s*(\d+)\s*$", re.MULTILINE)


def under(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _cap_node(driver_root: str, access_file: str) -> str | None:
    try:
        with open(under(driver_root, access_file), encoding="utf-8") as handle:
            match = _CAP_MINOR.search(handle.read())
    except OSError:
        return None
    return f"/dev/nvidia-caps/nvidia-cap{match.group(1)}" if match else None


def device_paths(device: Device, driver_root: str) -> list[str]:
    """Container paths of the nodes one device needs."""
    paths = [f"/dev/nvidia{device.minor}"]
    if device.is_mig:
        base = f"/proc/driver/nvidia/capabilities/gpu{device.minor}/mig/gi{device.gi}"
        for access in (f"{base}/access", f"{base}/ci{device.ci}/access"):
            node = _cap_node(driver_root, access)
            if node:
                paths.append(node)
    return paths


def existing_nodes(devices: Iterable[Device], dev_root: str, driver_root: str) -> list[tuple[str, str]]:
    """``(container_path, host_path)`` for each needed node that exists under ``dev_root``, deduplicated."""
    wanted = list(CONTROL_NODES)
    for device in devices:
        wanted.extend(device_paths(device, driver_root))
    seen: set[str] = set()
    nodes = []
    for path in wanted:
        if path in seen:
            continue
        seen.add(path)
        host = under(dev_root, path)
        if os.path.exists(host):
            nodes.append((path, host))
    return nodes
