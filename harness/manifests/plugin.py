"""The plugin container of a DaemonSet (or Deployment, or Pod), as the kubelet would run it.

Honoured: the container's image, ``command``/``args`` (with ``$(VAR)`` expanded as the kubelet
does), ``env`` (values, and ``fieldRef`` to the pod's name, namespace and node), ``workingDir``,
the container and pod ``securityContext`` (privilege escalation, capabilities, privileged,
read-only root, user and group, runAsNonRoot, seccomp), CPU and memory limits, the volume
mounts of ``hostPath`` volumes of the device-plugins dir (mapped to the scenario's socket dir)
and of ``emptyDir`` volumes, ``terminationGracePeriodSeconds`` (the stop timeout), and the
pod's tolerations, nodeSelector and node affinity (the pod must fit the simulated node, as the
DaemonSet controller would place it). Every other field is reported by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engine.spec import DEVICE_PLUGIN_DIR, ContainerSpec
from harness.loader import YNode
from harness.manifests import quantity
from harness.manifests.placement import placement
from harness.manifests.read import ManifestError, Note
from harness.manifests.workload import Workload, read_workload
from harness.scheduling import PodPlacement

#: Tolerations the DaemonSet controller adds to every pod it makes (pkg/controller/daemon/util).
DAEMONSET_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
FIELD_REFS = ("metadata.name", "metadata.namespace", "spec.nodeName")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclass
class PluginManifest:
    """What the manifest asks for: the container, where the pod may run, and what was not honoured."""

    path: str
    kind: str
    pod: str
    container_name: str
    container: ContainerSpec
    placement: PodPlacement
    grace_s: float = 30.0
    empty_dirs: list[str] = field(default_factory=list)  # mount paths of emptyDir volumes
    notes: list[Note] = field(default_factory=list)


def expand(text: str, env: dict[str, str]) -> str:
    """The kubelet's ``$(VAR)`` expansion: defined names are replaced, ``$$`` is ``$``, others stay."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR.sub(one, text)


def _scalar(node: YNode | None) -> str:
    if node is None or node.is_map or node.is_seq or node.value is None:
        return ""
    value = node.value
    return str(value).lower() if isinstance(value, bool) else str(value)


def _strings(node: YNode | None, what: str) -> list[str]:
    if node is None:
        return []
    if not node.is_seq:
        raise ManifestError(node.loc, f"{what} must be a list of strings, not {node.kind()}")
    return [_scalar(item) for item in node.value]


def _pick(work: Workload, containers: list[tuple[str, YNode]], volumes: dict[str, str]) -> tuple[str, YNode]:
    """The plugin container: the only one, or the one that mounts the device-plugins hostPath."""
    if len(containers) == 1:
        return containers[0]
    mounting = [
        (at, c)
        for at, c in containers
        if any(_scalar(m.get("name")) in volumes for m in (c.get("volumeMounts") or YNode([], c.loc)).value)
    ]
    if len(mounting) == 1:
        return mounting[0]
    names = ", ".join(_scalar(c.get("name")) for _, c in containers)
    raise ManifestError(
        work.pod_spec.loc,
        f"cannot tell which container is the plugin (containers: {names})",
        expected=f"one container, or one that mounts a hostPath volume of {DEVICE_PLUGIN_DIR}",
    )


def _volumes(work: Workload) -> tuple[dict[str, str], dict[str, str]]:
    """``(device-plugins hostPath volumes, emptyDir volumes)``, name → path."""
    plugin_dirs: dict[str, str] = {}
    empty: dict[str, str] = {}
    at = work.at("spec.volumes")
    for path, volume in work.reading.items(work.reading.enter(work.pod_spec, "volumes", work.at("spec")), at):
        name = _scalar(volume.get("name"))
        host = volume.get("hostPath")
        if host is not None and _scalar(host.get("path")).rstrip("/") == DEVICE_PLUGIN_DIR:
            work.reading.use(path)
            plugin_dirs[name] = DEVICE_PLUGIN_DIR
        elif volume.get("emptyDir") is not None:
            work.reading.use(path)
            empty[name] = name
        else:
            work.reading.ignore(path)
            work.reading.field(volume, "name", path)
    return plugin_dirs, empty


def _env(work: Workload, container: YNode, at: str, pod: str, namespace: str) -> dict[str, str]:
    env: dict[str, str] = {}
    r = work.reading
    for path, item in r.items(r.enter(container, "env", at), f"{at}.env"):
        name = _scalar(r.field(item, "name", path))
        if item.get("value") is not None or item.get("valueFrom") is None:
            env[name] = expand(_scalar(r.field(item, "value", path)), env)
            continue
        source = r.enter(item, "valueFrom", path)
        ref = r.enter(source, "fieldRef", f"{path}.valueFrom")
        field_path = _scalar(ref.get("fieldPath")) if ref is not None else ""
        if field_path in FIELD_REFS:
            r.use(f"{path}.valueFrom.fieldRef")
            env[name] = {"metadata.name": pod, "metadata.namespace": namespace, "spec.nodeName": "sim-node"}[
                field_path
            ]
    return env


def _security(work: Workload, container: YNode, at: str, made: ContainerSpec) -> None:
    r = work.reading
    pod_ctx = r.enter(work.pod_spec, "securityContext", work.at("spec"))
    ctx = r.enter(container, "securityContext", at)
    user = group = ""
    for node, where in ((pod_ctx, work.at("spec.securityContext")), (ctx, f"{at}.securityContext")):
        user = _scalar(r.field(node, "runAsUser", where)) or user
        group = _scalar(r.field(node, "runAsGroup", where)) or group
        if _scalar(r.field(node, "runAsNonRoot", where)) == "true" and (user or "0") == "0":
            raise ManifestError(
                node.key_loc("runAsNonRoot") if node is not None else container.loc,
                "runAsNonRoot is set, but the container would run as root (the kubelet refuses to "
                "start it: 'container has runAsNonRoot and image will run as root')",
            )
        seccomp = r.enter(node, "seccompProfile", where)
        kind = _scalar(seccomp.get("type")) if seccomp is not None else ""
        if kind in ("RuntimeDefault", "Unconfined"):
            r.use(f"{where}.seccompProfile")
            made.seccomp = kind
    made.user = f"{user}:{group}" if group else user or None
    sc = f"{at}.securityContext"
    # Kubernetes allows privilege escalation unless the container says otherwise.
    made.no_new_privileges = _scalar(r.field(ctx, "allowPrivilegeEscalation", sc)) == "false"
    made.privileged = _scalar(r.field(ctx, "privileged", sc)) == "true"
    made.read_only_rootfs = _scalar(r.field(ctx, "readOnlyRootFilesystem", sc)) == "true"
    caps = r.enter(ctx, "capabilities", sc)
    made.cap_drop = _strings(r.field(caps, "drop", f"{sc}.capabilities"), "capabilities.drop")
    made.cap_add = _strings(r.field(caps, "add", f"{sc}.capabilities"), "capabilities.add")


def _resources(work: Workload, container: YNode, at: str, made: ContainerSpec) -> None:
    r = work.reading
    resources = r.enter(container, "resources", at)
    limits = r.enter(resources, "limits", f"{at}.resources")
    where = f"{at}.resources.limits"
    for key in ("cpu", "memory"):
        node = r.field(limits, key, where)
        if node is None:
            continue
        try:
            value = quantity.parse(_scalar(node))
        except ValueError as exc:
            raise ManifestError(node.loc, f"{where}.{key}: {exc}") from None
        if key == "cpu":
            made.nano_cpus = int(value * 10**9)
        else:
            made.mem_bytes = int(value)


def plugin_container(path: str | Path, image: str | None = None) -> PluginManifest:
    """Read the manifest's plugin container; ``image`` (``--plugin-image``) replaces its image."""
    work = read_workload(path, ("DaemonSet", "Deployment", "Pod", "ReplicaSet", "StatefulSet"))
    r = work.reading
    spec_at = work.at("spec")
    plugin_dirs, empty = _volumes(work)
    containers = r.items(r.enter(work.pod_spec, "containers", spec_at), f"{spec_at}.containers")
    if not containers:
        raise ManifestError(work.pod_spec.loc, f"this {work.kind}'s pod has no containers")
    at, container = _pick(work, containers, plugin_dirs)
    for other, _ in containers:
        if other != at:
            r.ignore(other)
    for init, _ in r.items(work.pod_spec.get("initContainers"), work.at("spec.initContainers")):
        r.ignore(init)
    name = _scalar(r.field(container, "name", at))
    meta = work.pod_meta
    namespace = _scalar(meta.get("namespace")) if meta is not None else ""
    made = ContainerSpec(image or _scalar(r.field(container, "image", at)), seccomp="Unconfined")
    if image:
        r.use(f"{at}.image")  # replaced by --plugin-image
    if _scalar(container.get("imagePullPolicy")) in ("", "IfNotPresent", "Never"):
        r.field(container, "imagePullPolicy", at)
    made.env = _env(work, container, at, work.name, namespace or "default")
    command = r.field(container, "command", at)
    args = r.field(container, "args", at)
    made.command = [expand(s, made.env) for s in _strings(command, "command")] if command else None
    made.args = [expand(s, made.env) for s in _strings(args, "args")] if args else None
    made.working_dir = _scalar(r.field(container, "workingDir", at)) or None
    _security(work, container, at, made)
    _resources(work, container, at, made)
    empty_dirs: list[str] = []
    mounts = r.items(r.enter(container, "volumeMounts", at), f"{at}.volumeMounts")
    for mount_at, mount in mounts:
        volume = _scalar(mount.get("name"))
        target = _scalar(mount.get("mountPath"))
        if volume not in plugin_dirs and volume not in empty:
            r.ignore(mount_at)
            continue
        for key in ("name", "mountPath", "readOnly", "mountPropagation"):
            r.field(mount, key, mount_at)
        if volume in plugin_dirs:
            made.plugin_dir = target
        else:
            empty_dirs.append(target)
    grace = _scalar(r.field(work.pod_spec, "terminationGracePeriodSeconds", spec_at))
    where = placement(work, extra_tolerations=DAEMONSET_TOLERATIONS if work.kind == "DaemonSet" else ())
    return PluginManifest(
        str(path),
        work.kind,
        work.name,
        name,
        made,
        where,
        grace_s=float(grace) if grace else 30.0,
        empty_dirs=empty_dirs,
        notes=work.notes(),
    )


def describe(manifest: PluginManifest) -> dict[str, Any]:
    """The reading as plain data, for the observation log and ``python -m harness.manifests``."""
    made = manifest.container
    return {
        "manifest": manifest.path,
        "workload": manifest.kind,
        "pod": manifest.pod,
        "container": manifest.container_name,
        "image": made.image,
        "command": made.command,
        "args": made.args,
        "env": made.env,
        "plugin_dir": made.plugin_dir,
        "not_honoured": [str(n) for n in manifest.notes],
    }
