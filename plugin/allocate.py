"""Allocate: validate the request and build the response the way NVIDIA's plugin does.

Device IDs reach the runtime with the replica suffix stripped and duplicates removed (order
kept), as UUIDs or indexes (``--device-id-strategy``), through each ``--device-list-strategy``:
``envvar`` (``NVIDIA_VISIBLE_DEVICES``), ``volume-mounts`` (``/dev/null`` mounted per ID under
``/var/run/nvidia-container-devices``), ``cdi-annotations`` and ``cdi-cri``.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Sequence

from deviceplugin.v1beta1 import api_pb2 as pb
from plugin.config import CDI_STRATEGIES, Config
from plugin.devicenodes import existing_nodes
from plugin.errors import AllocationError
from plugin.resources import Device, Resource

VISIBLE_DEVICES_ENV = "NVIDIA_VISIBLE_DEVICES"
IMEX_CHANNELS_ENV = "NVIDIA_IMEX_CHANNELS"
VOLUME_MOUNT_DIR = "/var/run/nvidia-container-devices"
CDI_GPU_KIND = "nvidia.com/gpu"
CDI_ANNOTATION_NAME = "nvidia-device-plugin"


def validate_request(resource: Resource, ids: Sequence[str]) -> list[Device]:
    """The devices asked for, or NVIDIA's ``invalid request: …`` error."""
    known = resource.by_id()
    devices = []
    for device_id in ids:
        device = known.get(device_id)
        if device is None:
            raise AllocationError(f"invalid request: unknown device: {device_id}")
        devices.append(device)
    if resource.shared and resource.fail_requests_greater_than_one and len(ids) > 1:
        raise AllocationError(
            f"invalid request: maximum request size for shared resources is 1; found {len(ids)}"
        )
    return devices


def runtime_ids(devices: Sequence[Device], id_strategy: str) -> list[str]:
    """IDs for the container runtime: one per physical device (replicas collapse), in request order."""
    ids: list[str] = []
    for device in devices:
        value = device.uuid if id_strategy == "uuid" else device.index
        if value not in ids:
            ids.append(value)
    return ids


def container_response(
    resource: Resource,
    devices: Sequence[Device],
    config: Config,
    new_id: Callable[[], str] = lambda: str(_uuid.uuid4()),
) -> pb.ContainerAllocateResponse:
    ids = runtime_ids(devices, config.device_id_strategy)
    strategies = config.device_list_strategy
    response = pb.ContainerAllocateResponse()
    channels = [str(c) for c in config.imex_channel_ids]
    if "envvar" in strategies:
        response.envs[VISIBLE_DEVICES_ENV] = ",".join(ids)
        if channels:
            response.envs[IMEX_CHANNELS_ENV] = ",".join(channels)
    if "volume-mounts" in strategies:
        response.envs[VISIBLE_DEVICES_ENV] = VOLUME_MOUNT_DIR
        for device_id in ids:
            # NVIDIA leaves read_only unset (false) on these /dev/null marker mounts.
            response.mounts.add(host_path="/dev/null", container_path=f"{VOLUME_MOUNT_DIR}/{device_id}")
        for channel in channels:
            response.mounts.add(host_path="/dev/null", container_path=f"{VOLUME_MOUNT_DIR}/imex/{channel}")
    cdi_names = [f"{CDI_GPU_KIND}={i}" for i in ids]
    if any(s in CDI_STRATEGIES for s in strategies):
        if config.gds_enabled:
            cdi_names.append("nvidia.com/gds=all")
        if config.mofed_enabled:
            cdi_names.append("nvidia.com/mofed=all")
        cdi_names.extend(f"nvidia.com/imex-channel={c}" for c in channels)
    if "cdi-annotations" in strategies:
        key = f"{config.cdi_annotation_prefix}{CDI_ANNOTATION_NAME}_{new_id()}"
        response.annotations[key] = ",".join(cdi_names)
    if "cdi-cri" in strategies:
        for name in cdi_names:
            response.cdi_devices.add(name=name)
    if not config.cdi_only:
        if config.gdrcopy_enabled:
            response.envs["NVIDIA_GDRCOPY"] = "enabled"
        if config.gds_enabled:
            response.envs["NVIDIA_GDS"] = "enabled"
        if config.mofed_enabled:
            response.envs["NVIDIA_MOFED"] = "enabled"
    if config.pass_device_specs and not config.cdi_only:  # with CDI only, CDI names the device nodes
        for container_path, host_path in existing_nodes(devices, config.dev_root, config.driver_root):
            response.devices.add(container_path=container_path, host_path=host_path, permissions="rw")
    return response


def allocate(resource: Resource, request: pb.AllocateRequest, config: Config) -> pb.AllocateResponse:
    """One ContainerAllocateResponse per container request, or AllocationError (NVIDIA's message)."""
    response = pb.AllocateResponse()
    for creq in request.container_requests:
        devices = validate_request(resource, list(creq.devices_ids))
        response.container_responses.append(container_response(resource, devices, config))
    return response
