"""A pod from a manifest (a Pod, or the pod template of a Deployment, Job, ...), for admission.

Honoured: the containers' and init containers' names and extended-resource ``limits`` (what the
device manager allocates; ``requests`` of extended resources are checked as the API server
does: an integer, equal to the limit), init containers with ``restartPolicy: Always``
(restartable sidecars, which keep their devices), and the pod's placement (tolerations,
nodeSelector, node affinity, nodeName). Everything else is reported by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.loader import YNode
from harness.manifests import quantity
from harness.manifests.placement import placement
from harness.manifests.read import ManifestError, Note
from harness.manifests.workload import Workload, read_workload
from harness.scheduling import PodPlacement

NATIVE = ("cpu", "memory", "ephemeral-storage", "storage", "pods")


def is_extended(name: str) -> bool:
    """The API's IsExtendedResourceName: a domain-prefixed name outside kubernetes.io, not a quota."""
    if name in NATIVE or name.startswith(("hugepages-", "requests.")) or "/" not in name:
        return False
    domain = name.split("/", 1)[0]
    return domain != "kubernetes.io" and not domain.endswith(".kubernetes.io")


@dataclass
class PodManifest:
    """A pod to admit: the kubelet's Pod, where it may run, and what was not honoured."""

    name: str
    pod: Any  # fake_kubelet.Pod
    placement: PodPlacement
    notes: list[Note] = field(default_factory=list)
    invalid: str = ""  # the API server's refusal, when the pod is not valid


class _Invalid(Exception):
    pass


def _int(node: YNode, at: str) -> int:
    try:
        value = quantity.parse(node.value)
    except ValueError as exc:
        raise _Invalid(f'{at}: Invalid value: "{node.value}": {exc}') from None
    if value.denominator != 1:
        raise _Invalid(f'{at}: Invalid value: "{node.value}": must be an integer')
    return int(value)


def _limits(work: Workload, container: YNode, at: str) -> dict[str, int]:
    r = work.reading
    resources = r.enter(container, "resources", at)
    limits = r.enter(resources, "limits", f"{at}.resources")
    requests = r.enter(resources, "requests", f"{at}.resources")
    out: dict[str, int] = {}
    for key, node in limits.value.items() if limits is not None and limits.is_map else []:
        if is_extended(key):
            r.use(f"{at}.resources.limits.{key}")
            out[key] = _int(node, f"{at}.resources.limits[{key}]")
    for key, node in requests.value.items() if requests is not None and requests.is_map else []:
        if not is_extended(key):
            continue
        r.use(f"{at}.resources.requests.{key}")
        asked = _int(node, f"{at}.resources.requests[{key}]")
        if key not in out:
            raise _Invalid(
                f"{at}.resources.limits: Required value: Limit must be set for non overcommitable resources"
            )
        if asked != out[key]:
            raise _Invalid(
                f'{at}.resources.requests[{key}]: Invalid value: "{node.value}": '
                f"must be equal to {key} limit of {out[key]}"
            )
    return out


def _containers(work: Workload, key: str) -> list[Any]:
    from fake_kubelet import Container

    r = work.reading
    at = work.at(f"spec.{key}")
    made = []
    for path, container in r.items(r.enter(work.pod_spec, key, work.at("spec")), at):
        name = r.field(container, "name", path)
        if name is None:
            raise ManifestError(container.loc, f"{path} has no name")
        restartable = False
        if key == "initContainers":
            policy = r.field(container, "restartPolicy", path)
            restartable = policy is not None and policy.value == "Always"
        for inert in ("image", "imagePullPolicy", "command", "args", "env", "workingDir", "volumeMounts"):
            r.field(container, inert, path)  # what the container runs is not the device manager's concern
        made.append(Container(str(name.value), _limits(work, container, path), restartable=restartable))
    return made


def read_pod(path: str | Path) -> PodManifest:
    """Read a pod to admit from ``path``."""
    from fake_kubelet import Pod

    work = read_workload(path)
    where = placement(work)
    work.reading.field(work.pod_spec, "restartPolicy", work.at("spec"))
    work.reading.field(work.pod_spec, "volumes", work.at("spec"))
    try:
        containers = _containers(work, "containers")
        init = _containers(work, "initContainers")
    except _Invalid as exc:
        return PodManifest(work.name, None, where, work.notes(), f'The Pod "{work.name}" is invalid: {exc}')
    if not containers:
        raise ManifestError(work.pod_spec.loc, f"the pod {work.name!r} has no containers")
    pod = Pod(work.name, containers=containers, init_containers=init)
    return PodManifest(work.name, pod, where, work.notes())
