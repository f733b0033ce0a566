"""Contract checks stricter than the kubelet's.

The kubelet accepts a lot it should not (two responses for one container, a relative
device path, a preferred allocation of the wrong size). A plugin that relies on that
breaks on the next kubelet or runtime; here each such answer is recorded as a
:class:`Violation`. Checks never raise: a verdict, not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from deviceplugin.v1beta1 import api_pb2 as pb

# Rule names (stable: scenarios and reports match on them).
RESPONSE_COUNT = "response_count"
DEADLINE = "deadline_exceeded"
RESPONSE_TIME = "response_time"
ALLOCATE_UNKNOWN_DEVICE = "allocate_unknown_device"
ALLOCATE_UNHEALTHY_DEVICE = "allocate_unhealthy_device"
PREFERRED_NOT_SUBSET = "preferred_not_subset"
PREFERRED_MISSING_MUST_INCLUDE = "preferred_missing_must_include"
PREFERRED_WRONG_SIZE = "preferred_wrong_size"
DEVICE_SPEC_PATH = "device_spec_path"
DEVICE_SPEC_PERMISSIONS = "device_spec_permissions"
MOUNT_PATH = "mount_path"
CDI_NAME = "cdi_name"
ENV_KEY = "env_key"
DUPLICATE_DEVICE_ID = "duplicate_device_id"
UNKNOWN_HEALTH = "unknown_health"
DEVICE_ID = "device_id"
OPTIONS_MISMATCH = "options_mismatch"

MAX_DEVICE_ID = 63  # api.proto's comment on Device.ID; the kubelet does not enforce it

# Kubernetes' env var name rule (IsEnvVarName).
_ENV_KEY = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# CDI fully qualified device name: vendor/class=name (container-device-interface parser rules).
_CDI_VENDOR = r"[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?"
_CDI_CLASS = r"[A-Za-z]([A-Za-z0-9_-]*[A-Za-z0-9])?"
_CDI_DEVICE = r"[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?"
_CDI_NAME = re.compile(rf"^{_CDI_VENDOR}/{_CDI_CLASS}={_CDI_DEVICE}$")
_PERMISSIONS = re.compile(r"^(?!.*(.).*\1)[rwm]{1,3}$")


@dataclass(frozen=True)
class Violation:
    """One broken rule: what, for which resource, the details, and when (clock seconds)."""

    rule: str
    resource: str
    detail: str
    t: float = 0.0


def check_container_response(response: pb.ContainerAllocateResponse) -> list[tuple[str, str]]:
    """Rules for what a runtime will do with an Allocate response."""
    found: list[tuple[str, str]] = []
    for spec in response.devices:
        for field_name in ("container_path", "host_path"):
            path = getattr(spec, field_name)
            if not path.startswith("/"):
                found.append((DEVICE_SPEC_PATH, f"device spec {field_name} {path!r} is not absolute"))
        if not _PERMISSIONS.match(spec.permissions):
            found.append(
                (
                    DEVICE_SPEC_PERMISSIONS,
                    f"device spec {spec.container_path!r} has permissions {spec.permissions!r}; "
                    "expected a non-empty combination of r, w and m, each at most once",
                )
            )
    for mount in response.mounts:
        for field_name in ("container_path", "host_path"):
            path = getattr(mount, field_name)
            if not path.startswith("/"):
                found.append((MOUNT_PATH, f"mount {field_name} {path!r} is not absolute"))
    for device in response.cdi_devices:
        if not _CDI_NAME.match(device.name):
            found.append(
                (CDI_NAME, f"CDI device {device.name!r} is not fully qualified (vendor.com/class=name)")
            )
    for key in response.envs:
        if not _ENV_KEY.match(key):
            found.append((ENV_KEY, f"env key {key!r} is not a valid environment variable name"))
    return found


def check_preferred(
    answer: list[str], available: Iterable[str], must_include: Iterable[str], size: int
) -> list[tuple[str, str]]:
    """A preferred allocation must be a subset of available, include must-include, and have the size."""
    found: list[tuple[str, str]] = []
    available_set, must = set(available), set(must_include)
    extra = [d for d in answer if d not in available_set]
    if extra:
        found.append((PREFERRED_NOT_SUBSET, f"preferred devices {extra} are not among the available ones"))
    missing = sorted(must - set(answer))
    if missing:
        found.append(
            (PREFERRED_MISSING_MUST_INCLUDE, f"preferred answer leaves out must-include devices {missing}")
        )
    if len(answer) != size:
        found.append(
            (PREFERRED_WRONG_SIZE, f"preferred answer has {len(answer)} devices; {size} were asked for")
        )
    return found


def check_device_list(devices: list[pb.Device]) -> list[tuple[str, str]]:
    """Rules for one ListAndWatch message."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for device in devices:
        if device.ID in seen:
            found.append((DUPLICATE_DEVICE_ID, f"device {device.ID!r} is listed more than once"))
        seen.add(device.ID)
        if device.health not in ("Healthy", "Unhealthy"):
            found.append(
                (
                    UNKNOWN_HEALTH,
                    f"device {device.ID!r} has health {device.health!r}; the kubelet counts it unhealthy",
                )
            )
        if not device.ID or len(device.ID) > MAX_DEVICE_ID:
            found.append((DEVICE_ID, f"device ID {device.ID!r} must have 1 to {MAX_DEVICE_ID} characters"))
    return found
