"""The config file's replicated-resource sections (``sharing.timeSlicing``, ``sharing.mps``) and
``resources``, parsed with NVIDIA's rules and messages (api/config/v1 replicas.go, resources.go).

NVIDIA's v0.20 parses ``devices``, ``rename`` and ``resources`` strictly, then ignores them with a
warning ("not yet supported"); so do we: a value NVIDIA rejects is an error here too, and a
value it accepts but ignores is a warning.
"""

from __future__ import annotations

import json
import re
import uuid as _uuid
from dataclasses import dataclass
from typing import Any

from plugin.errors import ConfigError

RESOURCE_PREFIX = "nvidia.com"
MAX_RESOURCE_NAME = 63
SHARED_SUFFIX = ".shared"
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
_MIG_INDEX = re.compile(r"^\d+:\d+$")


@dataclass(frozen=True)
class ReplicatedResource:
    name: str  # fully qualified, e.g. nvidia.com/gpu
    replicas: int
    rename: str = ""  # what it is served as ("" = its own name)


def resource_name(raw: Any, where: str) -> str:
    """NVIDIA's NewResourceName: prefix ``nvidia.com/``, at most 63 characters, a DNS subdomain."""
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: expected a resource name (a string), got {raw!r}")
    name = raw if raw.startswith(RESOURCE_PREFIX + "/") else f"{RESOURCE_PREFIX}/{raw}"
    if len(name) > MAX_RESOURCE_NAME:
        raise ConfigError(
            f"{where}: fully-qualified resource name must be {MAX_RESOURCE_NAME} characters or less: {name}"
        )
    short = name.split("/", 1)[1]
    if len(short) > 253 or not _DNS_SUBDOMAIN.match(short):
        raise ConfigError(
            f"{where}: incorrect format for resource name '{name}': a lowercase RFC 1123 subdomain "
            "must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
            "with an alphanumeric character"
        )
    return name


def _is_uuid(text: str) -> bool:
    try:
        _uuid.UUID(text)
    except ValueError:
        return False
    return len(text) in (32, 36)


def _is_device_ref(ref: str) -> bool:
    """A GPU index, a MIG index ``g:m``, a GPU UUID or a MIG UUID (either form), as NVIDIA accepts."""
    if ref.isdigit() or _MIG_INDEX.match(ref):
        return True
    if ref.startswith("GPU-"):
        return _is_uuid(ref[4:])
    if ref.startswith("MIG-"):
        rest = ref[4:]
        if _is_uuid(rest):
            return True
        parts = rest.split("/")
        return (
            len(parts) == 3
            and parts[0].startswith("GPU-")
            and _is_uuid(parts[0][4:])
            and all(p.isdigit() for p in parts[1:])
        )
    return False


def check_devices(value: Any, where: str) -> bool:
    """Validate ``devices`` (all | count > 0 | list of refs); True when it is not ``all``."""
    if isinstance(value, str):
        if value != "all":
            raise ConfigError(f"{where}: devices set as '{value}' but the only valid string input is 'all'")
        return False
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"{where}: devices set as '{value}' but a count of devices must be > 0")
        return True
    if isinstance(value, list):
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
                continue
            text = item if isinstance(item, str) else ""  # NVIDIA prints the string it failed on
            if not (isinstance(item, str) and _is_device_ref(item)):
                raise ConfigError(f"{where}: unsupported type for device in devices list: {text}, string")
        return True
    raise ConfigError(f"{where}: unrecognized type for devices spec: {json.dumps(value)}")


def parse_replicated(
    section: Any, at: str, kind: str, warnings: list[str]
) -> tuple[bool, bool | None, tuple[ReplicatedResource, ...]]:
    """``(renameByDefault, failRequestsGreaterThanOne or None, resources)`` of one section."""
    if not isinstance(section, dict):
        raise ConfigError(f"{at}: expected a mapping, got {section!r}")
    rename_default = _bool(section.get("renameByDefault", False), f"{at}.renameByDefault")
    fail_gt_one = None
    if "failRequestsGreaterThanOne" in section:
        fail_gt_one = _bool(section["failRequestsGreaterThanOne"], f"{at}.failRequestsGreaterThanOne")
    raw = section.get("resources")
    if not raw:
        raise ConfigError(f"{at}: no resources specified")
    if not isinstance(raw, list):
        raise ConfigError(f"{at}.resources: expected a list, got {raw!r}")
    entries: list[ReplicatedResource] = []
    customised_devices = custom_rename = False
    for i, item in enumerate(raw):
        here = f"{at}.resources[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{here}: expected a mapping with name and replicas, got {item!r}")
        if "name" not in item:
            raise ConfigError(f"{here}: no resource name specified")
        name = resource_name(item["name"], f"{here}.name")
        customised_devices |= check_devices(item.get("devices", "all"), f"{here}.devices")
        if "replicas" not in item:
            raise ConfigError(f"{here}: no replicas specified")
        replicas = item["replicas"]
        if isinstance(replicas, bool) or not isinstance(replicas, int):
            raise ConfigError(f"{here}.replicas: expected an integer, got {replicas!r}")
        if replicas < 2:
            raise ConfigError(f"{here}.replicas: number of replicas must be >= 2, got {replicas}")
        rename = resource_name(item["rename"], f"{here}.rename") if item.get("rename") else ""
        default = name + SHARED_SUFFIX if rename_default else ""
        custom_rename |= bool(rename) and rename != default
        if any(e.name == name for e in entries):
            raise ConfigError(f"{here}.name: resource {name} is listed twice")
        entries.append(ReplicatedResource(name, replicas, default))
    if custom_rename:
        warnings.append(
            f"Setting the 'rename' field in sharing.{kind}.resources is not yet supported in the config. "
            "Ignoring..."
        )
    if customised_devices:
        warnings.append(
            f"Customizing the 'devices' field in sharing.{kind}.resources is not yet supported "
            "in the config. Ignoring..."
        )
    return rename_default, fail_gt_one, tuple(entries)


def check_resources(section: Any, at: str, warnings: list[str]) -> None:
    """``resources: {gpus: [...], mig: [...]}``: validated as NVIDIA does, then ignored as it does."""
    if section is None:
        return
    if not isinstance(section, dict):
        raise ConfigError(f"{at}: expected a mapping with gpus and mig, got {section!r}")
    customised = False
    for key in ("gpus", "mig"):
        entries = section.get(key) or []
        if not isinstance(entries, list):
            raise ConfigError(f"{at}.{key}: expected a list, got {entries!r}")
        for i, entry in enumerate(entries):
            here = f"{at}.{key}[{i}]"
            if not isinstance(entry, dict):
                raise ConfigError(f"{here}: expected a mapping with pattern and name, got {entry!r}")
            if "pattern" not in entry:
                raise ConfigError(f"{here}: resources must have a 'pattern' field set")
            if "name" not in entry:
                raise ConfigError(f"{here}: resources must have a 'name' field set")
            if not isinstance(entry["pattern"], str):
                raise ConfigError(f"{here}.pattern: expected a string, got {entry['pattern']!r}")
            resource_name(entry["name"], f"{here}.name")
            customised = True
    if customised:
        warnings.append("Customizing the 'resources' field is not yet supported in the config. Ignoring...")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: expected true or false, got {value!r}")
