"""A pod's placement fields from a manifest: tolerations, nodeSelector, node affinity, nodeName."""

from __future__ import annotations

from harness.loader import YNode
from harness.manifests.read import ManifestError
from harness.manifests.workload import Workload
from harness.scheduling import EFFECTS, PodPlacement, Requirement, Term, Toleration

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def _s(node: YNode | None) -> str:
    if node is None or node.is_map or node.is_seq or node.value is None:
        return ""
    return str(node.value).lower() if isinstance(node.value, bool) else str(node.value)


def _requirements(work: Workload, node: YNode | None, at: str) -> tuple[Requirement, ...]:
    out = []
    for path, item in work.reading.items(node, at):
        work.reading.use(path)
        operator = _s(item.get("operator"))
        if operator not in OPERATORS:
            raise ManifestError(
                item.loc, f"node selector operator {operator!r} is not one of {', '.join(OPERATORS)}"
            )
        values = item.get("values")
        out.append(
            Requirement(_s(item.get("key")), operator, tuple(_s(v) for v in (values.value if values else [])))
        )
    return tuple(out)


def placement(work: Workload, extra_tolerations: tuple[tuple[str, str], ...] = ()) -> PodPlacement:
    """Read the pod's placement fields (marking them honoured)."""
    r, spec, at = work.reading, work.pod_spec, work.at("spec")
    tolerations = [Toleration(key, "Exists", "", effect) for key, effect in extra_tolerations]
    for path, item in r.items(r.enter(spec, "tolerations", at), f"{at}.tolerations"):
        r.use(path)
        effect = _s(item.get("effect"))
        if effect and effect not in EFFECTS:
            raise ManifestError(item.loc, f"toleration effect {effect!r} is not one of {', '.join(EFFECTS)}")
        tolerations.append(
            Toleration(
                _s(item.get("key")), _s(item.get("operator")) or "Equal", _s(item.get("value")), effect
            )
        )
    selector = r.field(spec, "nodeSelector", at)
    node_selector = (
        {k: _s(v) for k, v in selector.value.items()} if selector is not None and selector.is_map else {}
    )
    terms = None
    affinity = r.enter(r.enter(spec, "affinity", at), "nodeAffinity", f"{at}.affinity")
    required = r.enter(
        affinity, "requiredDuringSchedulingIgnoredDuringExecution", f"{at}.affinity.nodeAffinity"
    )
    if required is not None:
        req_at = f"{at}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        terms = []
        for path, term in r.items(
            r.enter(required, "nodeSelectorTerms", req_at), f"{req_at}.nodeSelectorTerms"
        ):
            expressions = _requirements(
                work, r.enter(term, "matchExpressions", path), f"{path}.matchExpressions"
            )
            fields = _requirements(work, r.enter(term, "matchFields", path), f"{path}.matchFields")
            terms.append(Term(expressions, fields))
    node_name = _s(r.field(spec, "nodeName", at))
    return PodPlacement(tolerations, node_selector, terms, node_name)
