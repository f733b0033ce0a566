"""Kubelet versions and the feature gates of theirs that a device plugin can observe.

One table: when each gate appeared and from which version it is on by default, as the
kubelet's kube_features.go declares them. A version profile is a minor version
(``"1.26"`` .. ``"1.36"``); ``feature_gates`` overrides defaults, and naming a gate the
version does not have yet is an error, as the kubelet's flag parsing makes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

OLDEST, NEWEST = 26, 36
DEFAULT_VERSION = "1.35"

RESOURCE_HEALTH_STATUS = "ResourceHealthStatus"
KUBELET_POD_RESOURCES_GET = "KubeletPodResourcesGet"


@dataclass(frozen=True)
class Gate:
    """A feature gate: the minor version it appeared in (alpha) and the one it turned on by default."""

    since: int
    default_on_from: int | None = None


GATES: dict[str, Gate] = {
    # KEP-4680 pod status allocatedResourcesStatus; alpha in 1.31, still off by default in the
    # newest kube_features.go read (the facts file's "beta in 1.36" is not confirmed there).
    RESOURCE_HEALTH_STATUS: Gate(since=31),
    # podresources v1 Get; alpha 1.27, beta (on) 1.34.
    KUBELET_POD_RESOURCES_GET: Gate(since=27, default_on_from=34),
}


def minor(version: str) -> int:
    """``"1.31"`` -> 31; a clear error for anything else."""
    match = re.fullmatch(r"v?1\.(\d+)(\.\d+)?", version.strip())
    if not match or not OLDEST <= int(match.group(1)) <= NEWEST:
        raise ValueError(
            f"unknown kubelet version {version!r}; expected 1.{OLDEST} to 1.{NEWEST}, "
            f"e.g. {DEFAULT_VERSION!r}"
        )
    return int(match.group(1))


def feature_gates(version: str, overrides: Mapping[str, bool] | None = None) -> dict[str, bool]:
    """Every gate the version has, with its default or the override."""
    have = minor(version)
    gates = {
        name: gate.default_on_from is not None and have >= gate.default_on_from
        for name, gate in GATES.items()
        if have >= gate.since
    }
    for name, value in (overrides or {}).items():
        if name not in GATES:
            raise ValueError(f"unknown feature gate {name!r}; the fake kubelet models {sorted(GATES)}")
        if name not in gates:
            raise ValueError(
                f"feature gate {name} does not exist in kubelet {version}; "
                f"it appeared in 1.{GATES[name].since}"
            )
        gates[name] = bool(value)
    return gates
