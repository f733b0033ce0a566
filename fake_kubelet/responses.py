"""Plain-data views of plugin responses, for the observation log and reports.

The log must hold JSON values only (never protobuf objects), and the harness compares
responses as dicts, so the conversion lives in one place.
"""

from __future__ import annotations

from typing import Any

from deviceplugin.v1beta1 import HEALTHY
from deviceplugin.v1beta1 import api_pb2 as pb


def response_to_dict(response: pb.ContainerAllocateResponse) -> dict[str, Any]:
    """A ContainerAllocateResponse as a dict with the proto field names.

    ``mounts``/``devices`` are lists of dicts, ``cdi_devices`` a list of names, maps are dicts.
    """
    return {
        "envs": dict(response.envs),
        "mounts": [
            {"container_path": m.container_path, "host_path": m.host_path, "read_only": m.read_only}
            for m in response.mounts
        ],
        "devices": [
            {"container_path": d.container_path, "host_path": d.host_path, "permissions": d.permissions}
            for d in response.devices
        ],
        "annotations": dict(response.annotations),
        "cdi_devices": [c.name for c in response.cdi_devices],
    }


def device_dicts(
    listed: list[pb.Device], old: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], set[str], set[str]]:
    """One ListAndWatch message as {id: device dict}, its healthy IDs and its unhealthy IDs.

    A device as it was in ``old`` keeps the same dict object: every ``devices`` event lists the
    whole set, and 10,000 updates of a 2,688-device node must not each hold 2,688 new dicts
    (issue 20: the log was all of a soak's 21.7 MiB growth). Nothing mutates these dicts. Each
    message field is read once (a protobuf attribute costs more than a dict lookup).
    """
    devices: dict[str, dict[str, Any]] = {}
    healthy: set[str] = set()
    unhealthy: set[str] = set()
    for device in listed:
        key, health = device.ID, device.health
        numa = [n.ID for n in device.topology.nodes]
        before = old.get(key)
        if before is not None and before["health"] == health and before["numa"] == numa:
            devices[key] = before
        else:
            devices[key] = {"id": key, "health": health, "numa": numa}
        (healthy if health == HEALTHY else unhealthy).add(key)
    return devices, healthy, unhealthy


def merge_run_options(responses: list[dict[str, Any]]) -> dict[str, Any]:
    """What the kubelet hands the runtime for one container, merged over its resources.

    Envs and annotations: first value wins; devices and mounts: deduplicated by
    container path (first wins); CDI devices: deduplicated by name.
    """
    envs: dict[str, str] = {}
    annotations: dict[str, str] = {}
    devices: dict[str, dict[str, Any]] = {}
    mounts: dict[str, dict[str, Any]] = {}
    cdi: list[str] = []
    for response in responses:
        for key, value in response["envs"].items():
            envs.setdefault(key, value)
        for key, value in response["annotations"].items():
            annotations.setdefault(key, value)
        for spec in response["devices"]:
            devices.setdefault(spec["container_path"], spec)
        for mount in response["mounts"]:
            mounts.setdefault(mount["container_path"], mount)
        for name in response["cdi_devices"]:
            if name not in cdi:
                cdi.append(name)
    return {
        "envs": envs,
        "annotations": annotations,
        "devices": list(devices.values()),
        "mounts": list(mounts.values()),
        "cdi_devices": cdi,
    }
