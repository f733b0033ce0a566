"""Reading a Kubernetes manifest field by field: what the harness honoured, and the rest by name.

A :class:`Reading` wraps one document. Readers ask it for fields (``field``), which marks them
honoured, or mark a whole value honoured (``use``). Whatever is left is reported: a field in
:data:`NOT_HONOURED` with the reason it has no effect here, any other one as a field the harness
does not know. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import Loc, ScenarioError
from harness.loader import YNode, load_documents

#: Fields the harness reads but cannot honour, with why (paths with ``[]`` for any list index;
#: ``*.`` for the field wherever it is).
NOT_HONOURED: dict[str, str] = {
    "metadata.annotations": "annotations have no effect on the device manager",
    "metadata.ownerReferences": "there is no API server or garbage collector",
    "metadata.finalizers": "there is no API server",
    "metadata.generateName": "the pod is named by metadata.name",
    "status": "status is written by the cluster, not read from a manifest",
    "spec.selector": "the controller's selector; one pod runs on the one simulated node",
    "spec.updateStrategy": "the DaemonSet controller's rollout; one pod runs here",
    "spec.strategy": "the Deployment controller's rollout; one pod runs here",
    "spec.minReadySeconds": "the controller's rollout; one pod runs here",
    "spec.revisionHistoryLimit": "the controller's history; one pod runs here",
    "spec.replicas": "one pod of the template is admitted",
    "spec.progressDeadlineSeconds": "the Deployment controller's rollout",
    "spec.paused": "the Deployment controller's rollout",
    "spec.backoffLimit": "the Job controller's retries",
    "spec.completions": "the Job controller's bookkeeping; one pod is admitted",
    "spec.parallelism": "the Job controller's bookkeeping; one pod is admitted",
    "spec.activeDeadlineSeconds": "the Job controller's deadline",
    "spec.ttlSecondsAfterFinished": "the Job controller's clean-up",
    "spec.template.metadata.annotations": "annotations have no effect on the device manager",
    "*.priorityClassName": "no preemption on one simulated node",
    "*.priority": "no preemption on one simulated node",
    "*.preemptionPolicy": "no preemption on one simulated node",
    "*.serviceAccountName": "there is no API server to talk to",
    "*.serviceAccount": "there is no API server to talk to",
    "*.automountServiceAccountToken": "there is no API server to talk to",
    "*.imagePullSecrets": "images come from this machine's engine; nothing is pulled",
    "*.schedulerName": "the harness schedules onto its one node itself",
    "*.dnsPolicy": "the plugin runs without a network",
    "*.dnsConfig": "the plugin runs without a network",
    "*.hostNetwork": "the plugin runs without a network (NVIDIA's guide: --network=none)",
    "*.hostPID": "the plugin runs in its own PID namespace",
    "*.hostIPC": "the plugin runs in its own IPC namespace",
    "*.hostname": "the container's hostname is the engine's",
    "*.subdomain": "the plugin runs without a network",
    "*.enableServiceLinks": "the plugin runs without a network",
    "*.shareProcessNamespace": "one container runs",
    "*.runtimeClassName": "the engine's default runtime runs the container",
    "*.overhead": "no pod overhead accounting on the fake node",
    "*.topologySpreadConstraints": "one node: nothing to spread over",
    "*.affinity.podAffinity": "one node: pod affinity has nothing to choose between",
    "*.affinity.podAntiAffinity": "one node: pod anti-affinity has nothing to choose between",
    "*.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution": "a preference only; one node",
    "*.readinessGates": "no readiness is reported",
    "*.resourceClaims": "dynamic resource allocation is not the device plugin API",
    "*.os": "the node is Linux",
    "*.securityContext.seLinuxOptions": "SELinux is not modelled",
    "*.securityContext.appArmorProfile": "AppArmor is not modelled",
    "*.securityContext.windowsOptions": "the node is Linux",
    "*.securityContext.sysctls": "sysctls are not set",
    "*.securityContext.fsGroup": "volume ownership is not changed",
    "*.securityContext.fsGroupChangePolicy": "volume ownership is not changed",
    "*.securityContext.supplementalGroups": "supplementary groups are not set",
    "*.securityContext.procMount": "the engine's default /proc mask applies",
    "*.livenessProbe": "probes are not run; the scenario's steps restart the plugin",
    "*.readinessProbe": "probes are not run",
    "*.startupProbe": "probes are not run",
    "*.lifecycle": "postStart and preStop hooks are not run",
    "*.ports": "the plugin runs without a network",
    "*.envFrom": "there are no ConfigMaps or Secrets without an API server",
    "*.stdin": "the container gets no standard input",
    "*.stdinOnce": "the container gets no standard input",
    "*.tty": "the plugin's output is read as lines, without a terminal",
    "*.terminationMessagePath": "termination messages are not read",
    "*.terminationMessagePolicy": "termination messages are not read",
    "*.resizePolicy": "resources are not resized",
    "*.volumeDevices": "no block devices",
    "*.restartPolicy": "the kubelet would restart an exited container; here the scenario's steps start it",
    "*.resources": "a pod's extended-resource limits and a plugin container's CPU and memory limits are "
    "honoured; other resources are not accounted on the fake node",
    "*.volumes": "only hostPath volumes of the device-plugins dir and emptyDir volumes are provided",
    "*.volumeMounts": "only mounts of the device-plugins hostPath and of emptyDir volumes are made",
    "*.initContainers": "the plugin pod's init containers are not run",
    "*.containers": "only the plugin container runs",
    "*.env[].valueFrom": "only literal values and fieldRefs to metadata.name, metadata.namespace, "
    "spec.nodeName",
    "*.imagePullPolicy": "images come from this machine's engine (pulled only when absent)",
}


class ManifestError(ScenarioError):
    """A manifest the harness cannot use; the message points at the file and line."""


@dataclass(frozen=True)
class Note:
    """A field of the manifest that the harness did not honour, and why."""

    path: str
    loc: Loc
    why: str

    def __str__(self) -> str:
        return f"{self.path} (line {self.loc.line}): {self.why}"


def _pattern(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


def reason(path: str) -> str:
    """Why the harness does not honour ``path`` (a field known to be inapplicable, or unknown)."""
    general = _pattern(path)
    for known, why in NOT_HONOURED.items():
        if known.startswith("*."):
            suffix = known[1:]
            # The field, an item of it, or a field below it (not below one of its items: a
            # container's own fields are read one by one).
            hit = general.endswith((suffix, f"{suffix}[]")) or f"{suffix}." in general
        else:
            hit = general == known or general.startswith((f"{known}.", f"{known}["))
        if hit:
            return why
    return "not a field the harness knows; it is not honoured"


class Reading:
    """One manifest document, and which of its fields the harness honoured."""

    def __init__(self, doc: YNode) -> None:
        self.doc = doc
        self._whole: set[str] = set()
        self._entered: set[str] = {""}

    def field(self, node: YNode | None, key: str, at: str) -> YNode | None:
        """``node[key]``, marked honoured as a whole; ``at`` is ``node``'s path."""
        child = node.get(key) if node is not None else None
        if child is not None:
            self._whole.add(_join(at, key))
        return child

    def enter(self, node: YNode | None, key: str, at: str) -> YNode | None:
        """``node[key]``, a mapping or list whose own fields are read (and reported) one by one."""
        child = node.get(key) if node is not None else None
        if child is not None:
            self._entered.add(_join(at, key))
        return child

    def items(self, node: YNode | None, at: str) -> list[tuple[str, YNode]]:
        """The entries of a list that was entered: ``(path, item)``; each item is entered too."""
        if node is None or not node.is_seq:
            return []
        out = []
        for index, item in enumerate(node.value):
            path = f"{at}[{index}]"
            self._entered.add(path)
            out.append((path, item))
        return out

    def use(self, at: str) -> None:
        """Mark a path honoured as a whole (a value the reader took as it is)."""
        self._whole.add(at)

    def ignore(self, at: str) -> None:
        """Mark a path as read and unhonoured for the reason in the table (e.g. a whole container)."""
        self._entered.discard(at)
        self._whole.discard(at)

    def notes(self) -> list[Note]:
        """Every field present that was not honoured, the highest such path of each branch."""
        out: list[Note] = []
        self._walk(self.doc, "", out)
        return out

    def _walk(self, node: YNode, at: str, out: list[Note], loc: Loc | None = None) -> None:
        if at in self._whole:
            return
        if at not in self._entered:
            out.append(Note(at, loc or node.loc, reason(at)))
            return
        if node.is_map:
            for key, child in node.value.items():
                self._walk(child, _join(at, key), out, node.key_loc(key))
        elif node.is_seq:
            for index, child in enumerate(node.value):
                self._walk(child, f"{at}[{index}]", out)


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def documents(path: str | Path) -> list[YNode]:
    """The documents of a manifest file (``---``-separated), located for error messages."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(
            Loc(str(p), 0, 0), f"cannot read the manifest: {exc.strerror}", snippet=False
        ) from None
    docs = [d for d in load_documents(text, str(p)) if d.value is not None]
    for doc in docs:
        if not doc.is_map:
            raise ManifestError(doc.loc, f"a manifest document is a mapping, not {doc.kind()}")
    return docs
