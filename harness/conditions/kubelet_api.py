"""Conditions on what the kubelet tells the rest of the node: pod status, the podresources API
(read over its real gRPC socket, as monitoring agents read it) and the TopologyManager's hints."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.model.base import Condition, Verdict
from harness.model.matcher import Matcher, TextMatcher
from harness.model.registry import condition
from harness.model.schema import doc

if TYPE_CHECKING:
    from harness.context import Ctx


def _check(observed: str, pairs: list[tuple[str, Matcher | None, Any]], ctx: Ctx) -> Verdict:
    for label, matcher, value in pairs:
        if matcher is not None and (why := matcher.match(value, ctx)):
            return Verdict(False, f"{observed} ({label}: {why})")
    return Verdict(True, observed)


@condition("pod")
@dataclass
class PodState(Condition):
    """A pod's status as the kubelet reports it: phase, reason, message, and per container the
    health of the devices it holds (``allocatedResourcesStatus``, with the ResourceHealthStatus gate)."""

    name: str = doc("pod name")
    phase: Matcher | None = doc("Running, Succeeded or Failed (a rejected pod is Failed)", default=None)
    reason: Matcher | None = doc("e.g. UnexpectedAdmissionError or TopologyAffinityError", default=None)
    message: TextMatcher | None = doc("the status message", default=None)
    resource_health: Matcher | None = doc(
        "container -> device -> Healthy/Unhealthy, e.g. {main: {'{gpu0.uuid}': Unhealthy}} "
        "(a container's value is null without the feature gate)",
        default=None,
    )
    allocated_resources_status: Matcher | None = doc(
        "container -> the status field as the API has it: [{name, resources: [{resourceID, health}]}]",
        default=None,
    )

    def describe(self) -> str:
        parts = [f"pod {self.name}"]
        for label in ("phase", "reason", "message", "resource_health", "allocated_resources_status"):
            if (m := getattr(self, label)) is not None:
                parts.append(f"{label} {m.describe()}")
        return " ".join(parts)

    def evaluate(self, ctx: Ctx) -> Verdict:
        try:
            status = ctx.kubelet.pod_status(self.name)
        except KeyError:
            return Verdict(False, f"the kubelet knows no pod {self.name}")
        raw = {c.name: c.allocated_resources_status for c in status.containers}
        health = {
            name: None
            if value is None
            else {r["resourceID"]: r["health"] for s in value for r in s["resources"]}
            for name, value in raw.items()
        }
        observed = f"pod {self.name} {status.phase}"
        if status.reason:
            observed += f" ({status.reason}: {status.message})"
        return _check(
            observed,
            [
                ("phase", self.phase, status.phase),
                ("reason", self.reason, status.reason),
                ("message", self.message, status.message),
                ("resource_health", self.resource_health, health),
                ("allocated_resources_status", self.allocated_resources_status, raw),
            ],
            ctx,
        )


@condition("podresources")
@dataclass
class PodResources(Condition):
    """What the podresources API v1 answers on the kubelet's pod-resources socket, for one resource."""

    resource: str | None = doc("the resource (default: the scenario's)", default=None)
    pods: Matcher | None = doc(
        "List: pod -> container -> device IDs, e.g. {p1: {main: {set: '{allocated.p1.main}'}}}", default=None
    )
    numa: Matcher | None = doc("List: device ID -> NUMA nodes of the devices pods hold", default=None)
    allocatable: Matcher | None = doc("GetAllocatableResources: the device IDs", default=None)
    allocatable_numa: Matcher | None = doc("GetAllocatableResources: device ID -> NUMA nodes", default=None)
    get: str | None = doc("Get this pod (namespace default)", default=None)
    get_containers: Matcher | None = doc("Get: container -> device IDs", default=None)
    get_fails: TextMatcher | None = doc("Get must fail with a message matching this", default=None)

    def describe(self) -> str:
        parts = ["podresources"]
        for label in ("pods", "numa", "allocatable", "allocatable_numa", "get_containers", "get_fails"):
            if (m := getattr(self, label)) is not None:
                parts.append(f"{label} {m.describe()}")
        return " ".join(parts)

    def evaluate(self, ctx: Ctx) -> Verdict:
        import grpc

        from deviceplugin.podresources.v1 import api_pb2 as pr
        from deviceplugin.podresources.v1 import api_pb2_grpc
        from deviceplugin.v1beta1 import unix_target

        resource = self.resource or ctx.scenario.resource
        socket = ctx.kubelet.podresources_socket
        if not socket:
            return Verdict(False, "the kubelet serves no podresources socket")
        with grpc.insecure_channel(unix_target(socket)) as channel:
            client = api_pb2_grpc.PodResourcesListerStub(channel)  # type: ignore[no-untyped-call]
            try:
                listed = client.List(pr.ListPodResourcesRequest(), timeout=2)
                free = client.GetAllocatableResources(pr.AllocatableResourcesRequest(), timeout=2)
            except grpc.RpcError as error:
                return Verdict(False, f"podresources did not answer: {error.details()}")
            got: Any = None
            if self.get is not None:
                try:
                    got = client.Get(
                        pr.GetPodResourcesRequest(pod_name=self.get, pod_namespace="default"), timeout=2
                    )
                except grpc.RpcError as error:
                    got = error.details()
        pods = {p.name: _containers(p, resource) for p in listed.pod_resources}
        numa = _numa(
            d
            for p in listed.pod_resources
            for c in p.containers
            for d in c.devices
            if d.resource_name == resource
        )
        mine = [d for d in free.devices if d.resource_name == resource]
        allocatable = sorted({i for d in mine for i in d.device_ids})
        observed = f"List {pods}; allocatable {allocatable}"
        pairs: list[tuple[str, Matcher | None, Any]] = [
            ("pods", self.pods, pods),
            ("numa", self.numa, numa),
            ("allocatable", self.allocatable, allocatable),
            ("allocatable_numa", self.allocatable_numa, _numa(mine)),
        ]
        if self.get is not None:
            failed = isinstance(got, str)
            observed += f"; Get {self.get}: {got if failed else _containers(got.pod_resources, resource)}"
            if self.get_fails is not None:
                if not failed:
                    return Verdict(False, f"{observed} (Get should have failed)")
                pairs.append(("get_fails", self.get_fails, got))
            elif failed:
                return Verdict(False, f"{observed} (Get failed)")
            else:
                pairs.append(
                    ("get_containers", self.get_containers, _containers(got.pod_resources, resource))
                )
        return _check(observed, pairs, ctx)


def _containers(pod: Any, resource: str) -> dict[str, list[str]]:
    return {
        c.name: sorted({i for d in c.devices if d.resource_name == resource for i in d.device_ids})
        for c in pod.containers
    }


def _numa(devices: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for d in devices:
        for device_id in d.device_ids:
            out.setdefault(device_id, []).extend(n.ID for n in d.topology.nodes)
    return {k: sorted(v) for k, v in out.items()}


@condition("topology")
@dataclass
class Topology(Condition):
    """The NUMA affinity the TopologyManager chose for a container of an admitted pod."""

    pod: str = doc("pod name")
    container: str = doc("container name", default="main")
    numa: Matcher | None = doc("its NUMA nodes, e.g. [1] (null: no affinity)", default=None)
    preferred: bool | None = doc("whether the merged hint was a preferred one", default=None)

    def describe(self) -> str:
        parts = [f"{self.pod}/{self.container} aligned"]
        if self.numa is not None:
            parts.append(f"to NUMA {self.numa.describe()}")
        if self.preferred is not None:
            parts.append("preferred" if self.preferred else "not preferred")
        return " ".join(parts)

    def evaluate(self, ctx: Ctx) -> Verdict:
        try:
            hint = ctx.kubelet.topology_hint(self.pod, self.container)
        except KeyError:
            return Verdict(False, f"pod {self.pod} is not admitted")
        if hint is None:
            return Verdict(False, f"{self.pod}/{self.container} has no topology hint (policy none?)")
        numa = None if hint.affinity is None else sorted(hint.affinity)
        observed = f"{self.pod}/{self.container} hint {hint}"
        if self.preferred is not None and hint.preferred != self.preferred:
            return Verdict(False, f"{observed} (preferred is {hint.preferred})")
        return _check(observed, [("numa", self.numa, numa)], ctx)
