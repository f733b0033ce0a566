"""The pod a manifest describes: a Pod itself, or the pod template of a workload.

``kind`` decides where the pod is: ``spec`` of a Pod, ``spec.template`` of a DaemonSet,
Deployment, ReplicaSet, StatefulSet or Job, ``spec.jobTemplate.spec.template`` of a CronJob.
Documents of other kinds in the same file (a Namespace, a ServiceAccount, RBAC) are reported
as not honoured: there is no API server to create them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import Loc
from harness.loader import YNode
from harness.manifests.read import ManifestError, Note, Reading, documents

#: kind → the path of the pod (metadata + spec) inside the document.
POD_AT: dict[str, str] = {
    "Pod": "",
    "DaemonSet": "spec.template",
    "Deployment": "spec.template",
    "ReplicaSet": "spec.template",
    "StatefulSet": "spec.template",
    "Job": "spec.template",
    "CronJob": "spec.jobTemplate.spec.template",
}


@dataclass
class Workload:
    """One workload document: its kind and name, and the pod inside it, read through ``reading``."""

    path: str
    kind: str
    name: str
    reading: Reading
    pod_at: str  # path of the pod ("" for a Pod)
    pod_meta: YNode | None
    pod_spec: YNode
    others: list[Note] = field(default_factory=list)  # documents of other kinds

    def at(self, suffix: str) -> str:
        return f"{self.pod_at}.{suffix}" if self.pod_at else suffix

    def notes(self) -> list[Note]:
        return [*self.others, *self.reading.notes()]


def _text(node: YNode | None) -> str:
    return str(node.value) if node is not None and not node.is_map and not node.is_seq else ""


def read_workload(path: str | Path, kinds: tuple[str, ...] = tuple(POD_AT)) -> Workload:
    """The one workload of ``kinds`` in the file (error if there is none, or several)."""
    docs = documents(path)
    chosen = [d for d in docs if _text(d.get("kind")) in kinds]
    if not chosen:
        found = ", ".join(_text(d.get("kind")) or "no kind" for d in docs) or "no documents"
        raise ManifestError(
            docs[0].loc if docs else Loc(str(path), 0, 0),
            f"no {' / '.join(kinds)} in this manifest (it has: {found})",
            snippet=bool(docs),
        )
    if len(chosen) > 1:
        names = ", ".join(f"{_text(d.get('kind'))} {_describe(d)} (line {d.loc.line})" for d in chosen)
        raise ManifestError(chosen[1].loc, f"more than one workload in this manifest: {names}")
    doc = chosen[0]
    kind = _text(doc.get("kind"))
    others = [
        Note(
            f"{_text(d.get('kind')) or 'document'} {_describe(d)}",
            d.loc,
            "not a workload; there is no API server",
        )
        for d in docs
        if d is not doc
    ]
    reading = Reading(doc)
    for key in ("apiVersion", "kind"):
        reading.field(doc, key, "")
    meta = reading.enter(doc, "metadata", "")
    for key in ("name", "namespace", "labels", "uid", "creationTimestamp", "resourceVersion"):
        reading.field(meta, key, "metadata")
    pod_at = POD_AT[kind]
    holder: YNode | None = doc
    walked = ""
    for part in pod_at.split(".") if pod_at else []:
        holder = reading.enter(holder, part, walked)
        walked = f"{walked}.{part}" if walked else part
    if holder is None or not holder.is_map:
        raise ManifestError(doc.loc, f"this {kind} has no pod at {pod_at or 'the top'}")
    pod_meta = reading.enter(holder, "metadata", pod_at) if pod_at else meta
    if pod_at:
        for key in ("name", "labels", "namespace"):
            reading.field(pod_meta, key, f"{pod_at}.metadata")
    spec = reading.enter(holder, "spec", pod_at)
    if spec is None or not spec.is_map:
        raise ManifestError(holder.loc, f"this {kind}'s pod has no spec")
    name = _text(meta.get("name") if meta is not None else None) or Path(path).stem
    if pod_at and pod_meta is not None and _text(pod_meta.get("name")):
        name = _text(pod_meta.get("name"))
    return Workload(str(path), kind, name, reading, pod_at, pod_meta, spec, others)


def _describe(doc: YNode) -> str:
    meta = doc.get("metadata")
    return _text(meta.get("name")) if meta is not None else "(no name)"
