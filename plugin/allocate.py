"""Allocate: validate the request and build the response the way NVIDIA's plugin does.

Device IDs reach the runtime with the replica suffix stripped and duplicates removed (order
kept), as UUIDs or indexes (``--device-id-strategy``), through each ``--device-list-strategy``:
``envvar`` (``NVIDIA_VISIBLE_DEVICES``), ``volume-mounts`` (``/dev/null`` mounted per ID under
``/var/run/nvidia-container-devices``), ``cdi-annotations`` and ``cdi-cri``.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deviceplugin.v1beta1 import api_pb2 as pb
from plugin import cdi, mps
from plugin.cdi import qualified
from plugin.config import CDI_STRATEGIES, Config
from plugin.devicenodes import existing_nodes, under
from plugin.errors import AllocationError
from plugin.imex import Channel
from plugin.resources import Device, Resource

VISIBLE_DEVICES_ENV = "NVIDIA_VISIBLE_DEVICES"
IMEX_CHANNELS_ENV = "NVIDIA_IMEX_CHANNELS"
VOLUME_MOUNT_DIR = "/var/run/nvidia-container-devices"
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


@dataclass(frozen=True)
class Extras:
    """What one generation knows beyond the config: the IMEX channels found, the CDI modes written."""

    channels: tuple[Channel, ...] = ()
    cdi_additional: tuple[str, ...] = ()  # e.g. k8s.device-plugin.nvidia.com/gds=all


def container_response(
    resource: Resource,
    devices: Sequence[Device],
    config: Config,
    extras: Extras = Extras(),
    new_id: Callable[[], str] = lambda: str(_uuid.uuid4()),
) -> pb.ContainerAllocateResponse:
    """One container's answer, built in NVIDIA's order (getAllocateResponse)."""
    ids = runtime_ids(devices, config.device_id_strategy)
    strategies = config.device_list_strategy
    response = pb.ContainerAllocateResponse()
    channels = [c.id for c in extras.channels]
    if any(s in CDI_STRATEGIES for s in strategies):
        names = [qualified(cdi.GPU, i) for i in ids]
        names += [qualified(cdi.IMEX, c) for c in channels]
        names += extras.cdi_additional
        if "cdi-annotations" in strategies:
            key = f"{config.cdi_annotation_prefix}{CDI_ANNOTATION_NAME}_{new_id()}"
            response.annotations[key] = ",".join(names)
        if "cdi-cri" in strategies:
            for name in names:
                response.cdi_devices.add(name=name)
    if resource.mps:
        pipe = mps.pipe_dir(mps.CONTAINER_ROOT, resource.name)
        response.envs[mps.PIPE_ENV] = pipe
        response.mounts.add(container_path=pipe, host_path=mps.pipe_dir(config.mps_root, resource.name))
        response.mounts.add(container_path=mps.SHM_CONTAINER_PATH, host_path=mps.shm_dir(config.mps_root))
    # v0.20 sets these even when every strategy is CDI (issue 17; v0.17 did not).
    if config.gdrcopy_enabled:
        response.envs["NVIDIA_GDRCOPY"] = "enabled"
    if config.gds_enabled:
        response.envs["NVIDIA_GDS"] = "enabled"
    if config.mofed_enabled:
        response.envs["NVIDIA_MOFED"] = "enabled"
    if config.cdi_only:
        return response  # CDI names the devices; nothing else goes to the runtime
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
    if config.pass_device_specs:
        # A tegra device has no device nodes of its own, and NVIDIA's tegra manager adds no control nodes.
        nodes = [] if resource.tegra else existing_nodes(devices, config.dev_root, config.driver_root)
        for container_path, host_path in nodes:
            response.devices.add(container_path=container_path, host_path=host_path, permissions="rw")
        for c in extras.channels:
            response.devices.add(
                container_path=c.path, host_path=under(config.dev_root, c.path), permissions="rw"
            )
    return response


def allocate(
    resource: Resource, request: pb.AllocateRequest, config: Config, extras: Extras = Extras()
) -> pb.AllocateResponse:
    """One ContainerAllocateResponse per container request, or AllocationError (NVIDIA's message)."""
    response = pb.AllocateResponse()
    for creq in request.container_requests:
        devices = validate_request(resource, list(creq.devices_ids))
        response.container_responses.append(container_response(resource, devices, config, extras))
    return response
