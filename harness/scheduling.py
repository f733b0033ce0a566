"""Whether a pod may run on the simulated node: the scheduler's checks, and the kubelet's own.

The node has labels and taints (:class:`KubeNode`; a node with GPUs is tainted
``nvidia.com/gpu:NoSchedule`` unless the scenario says otherwise, as GPU node pools are). A pod
brings tolerations, a nodeSelector and node affinity (:class:`PodPlacement`).

Who decides: for a pod the scheduler places, the scheduler's filters (NoSchedule and NoExecute
taints, nodeSelector, required node affinity) refuse it with its FailedScheduling message. A
pod bound to the node by ``spec.nodeName`` skips the scheduler; the kubelet's own admission
(``lifecycle/predicate.go``) still checks node affinity/selector and NoExecute taints, with its
``Predicate ... failed`` message. PreferNoSchedule never refuses a pod.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NODE_NAME = "sim-node"
GPU_TAINT = "nvidia.com/gpu:NoSchedule"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

# The scheduler's words (kube-scheduler 1.33+: plugin reasons, FitError and the preemption tail).
TAINT_REASON = "node(s) had untolerated taint(s)"
AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector"
PREEMPTION = "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
# The kubelet's (PredicateFailureError: "Predicate <name> failed: <reason>").
KUBELET_TAINT_REASON = "node(s) had taints that the pod didn't tolerate"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"

    @classmethod
    def parse(cls, text: str) -> Taint:
        """kubectl's form: ``key[=value]:Effect``."""
        body, sep, effect = text.rpartition(":")
        if not sep or effect not in EFFECTS or not body:
            raise ValueError(f"invalid taint {text!r}: expected key[=value]:Effect, Effect one of {EFFECTS}")
        key, _, value = body.partition("=")
        return cls(key, value, effect)

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # Equal or Exists
    value: str = ""
    effect: str = ""  # empty: every effect

    def tolerates(self, taint: Taint) -> bool:
        """The API's rule (k8s.io/api/core/v1 Toleration.ToleratesTaint)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator in ("Equal", "") and self.value == taint.value


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` (or ``matchFields``) entry of a node selector term."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist, Gt, Lt
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator in ("Gt", "Lt") and present and len(self.values) == 1:
            try:
                have, bound = int(value), int(self.values[0])
            except ValueError:
                return False
            return have > bound if self.operator == "Gt" else have < bound
        return False


@dataclass(frozen=True)
class Term:
    """A node selector term: all its expressions and fields must match."""

    expressions: tuple[Requirement, ...] = ()
    fields: tuple[Requirement, ...] = ()

    def matches(self, node: KubeNode) -> bool:
        if not self.expressions and not self.fields:
            return False  # an empty term matches no node
        return all(r.matches(node.labels) for r in self.expressions) and all(
            r.matches({"metadata.name": node.name}) for r in self.fields
        )


@dataclass
class PodPlacement:
    """What a pod says about where it may run."""

    tolerations: list[Toleration] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    required_terms: list[Term] | None = None  # None: no required node affinity
    node_name: str = ""  # bound by spec.nodeName: the scheduler is skipped


@dataclass
class KubeNode:
    """The simulated node as the API sees it: a name, labels and taints."""

    name: str = NODE_NAME
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Taint] = field(default_factory=list)

    @classmethod
    def make(cls, gpus: int, labels: dict[str, str], taints: list[str] | None) -> KubeNode:
        """The node's defaults, then the scenario's labels; taints default to the GPU taint."""
        base = {
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
        }
        if gpus:
            base["nvidia.com/gpu.present"] = "true"
        chosen = taints if taints is not None else ([GPU_TAINT] if gpus else [])
        return cls(NODE_NAME, {**base, **labels}, [Taint.parse(t) for t in chosen])


def untolerated(taints: list[Taint], tolerations: list[Toleration], effects: tuple[str, ...]) -> Taint | None:
    """The first taint of ``effects`` that no toleration tolerates."""
    for taint in taints:
        if taint.effect in effects and not any(t.tolerates(taint) for t in tolerations):
            return taint
    return None


def matches_node(pod: PodPlacement, node: KubeNode) -> bool:
    """nodeSelector and required node affinity (the NodeAffinity filter; both must hold)."""
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    return pod.required_terms is None or any(term.matches(node) for term in pod.required_terms)


@dataclass(frozen=True)
class Refusal:
    """Why the pod does not run here: who refused (``scheduler`` or ``kubelet``), reason, message."""

    by: str
    reason: str
    message: str


def admit(pod: PodPlacement, node: KubeNode) -> Refusal | None:
    """None when the pod may run on the node; else who refuses it, with their message."""
    if pod.node_name:
        if pod.node_name != node.name:
            return Refusal(
                "kubelet", "NodeName", f"the pod is bound to node {pod.node_name!r}, not {node.name!r}"
            )
        if not matches_node(pod, node):
            return Refusal("kubelet", "NodeAffinity", f"Predicate NodeAffinity failed: {AFFINITY_REASON}")
        if untolerated(node.taints, pod.tolerations, ("NoExecute",)) is not None:
            return Refusal(
                "kubelet", "TaintToleration", f"Predicate TaintToleration failed: {KUBELET_TAINT_REASON}"
            )
        return None
    # The scheduler's filters run in its default order (NodeUnschedulable, NodeName,
    # TaintToleration, NodeAffinity, ...) and stop at the first that fails on a node.
    reason = ""
    if untolerated(node.taints, pod.tolerations, ("NoSchedule", "NoExecute")) is not None:
        reason = TAINT_REASON
    elif not matches_node(pod, node):
        reason = AFFINITY_REASON
    if not reason:
        return None
    return Refusal("scheduler", "FailedScheduling", f"0/1 nodes are available: 1 {reason}. {PREEMPTION}")
