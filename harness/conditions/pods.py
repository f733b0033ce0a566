"""Conditions on pods: what Allocate gave a container, and how admission went."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.model.base import Condition, Verdict
from harness.model.matcher import ItemsMatcher, Matcher, TextMatcher
from harness.model.registry import condition
from harness.model.schema import doc

if TYPE_CHECKING:
    from harness.context import Ctx


@condition("allocation")
@dataclass
class Allocation(Condition):
    """The devices and Allocate response the kubelet holds now for one container of an admitted pod
    (after a kubelet restart, what it restored from its checkpoint)."""

    pod: str = doc("pod name")
    container: str = doc("container name (default: the pod's only container with an allocation)", default="")
    resource: str | None = doc("the resource (default: the scenario's)", default=None)
    ids: ItemsMatcher | None = doc(
        "allocated device IDs, e.g. {count: 2, subset_of: '{healthy}'}", default=None
    )
    envs: Matcher | None = doc("response envs, e.g. {NVIDIA_VISIBLE_DEVICES: '{gpu0.uuid}'}", default=None)
    mounts: Matcher | None = doc(
        "response mounts (list of {container_path, host_path, read_only})", default=None
    )
    device_specs: Matcher | None = doc(
        "response devices (list of {container_path, host_path, permissions})", default=None
    )
    annotations: Matcher | None = doc("response annotations", default=None)
    cdi_devices: ItemsMatcher | None = doc("response CDI device names", default=None)
    response: Matcher | None = doc(
        "the whole response {envs, mounts, devices, annotations, cdi_devices}", default=None
    )

    def describe(self) -> str:
        parts = [f"{self.pod}/{self.container or '*'}"]
        for name in ("ids", "envs", "mounts", "device_specs", "annotations", "cdi_devices", "response"):
            if (m := getattr(self, name)) is not None:
                parts.append(f"{name} {m.describe()}")
        return " ".join(parts)

    def _allocation(self, ctx: Ctx) -> tuple[Any, str]:
        admission = ctx.admissions.get(self.pod)
        if admission is None:
            return None, f"no pod {self.pod} was admitted"
        resource = self.resource or ctx.scenario.resource
        # What the kubelet holds now (after a kubelet restart: what it read back from its
        # checkpoint), not what admission returned back then.
        try:
            held = ctx.kubelet.allocations(self.pod) if ctx.kubelet is not None else admission.allocations
        except KeyError:
            held = []
        mine = [
            a
            for a in held
            if a.resource == resource and (not self.container or a.container == self.container)
        ]
        if not mine:
            have = ", ".join(f"{a.container}/{a.resource}" for a in held) or "none"
            return (
                None,
                f"pod {self.pod} has no {resource} allocation for {self.container or 'any container'} "
                f"(allocations: {have}; admitted={admission.admitted} {admission.message})",
            )
        if len(mine) > 1:
            return None, f"pod {self.pod} has several containers with {resource}; name one with 'container:'"
        return mine[0], ""

    def evaluate(self, ctx: Ctx) -> Verdict:
        allocation, why = self._allocation(ctx)
        if allocation is None:
            return Verdict(False, why)
        response = allocation.response
        observed = f"{allocation.container}: devices {allocation.devices}, envs {response.get('envs')}"
        checks = (
            ("ids", allocation.devices),
            ("envs", response.get("envs", {})),
            ("mounts", response.get("mounts", [])),
            ("device_specs", response.get("devices", [])),
            ("annotations", response.get("annotations", {})),
            ("cdi_devices", response.get("cdi_devices", [])),
            ("response", response),
        )
        for name, value in checks:
            matcher = getattr(self, name)
            if matcher is not None and (why := matcher.match(value, ctx)):
                return Verdict(False, f"{observed} ({name}: {why})")
        return Verdict(True, observed)


@condition("admission")
@dataclass
class AdmissionResult(Condition):
    """How a pod's admission went: admitted, or failed with a reason and message."""

    pod: str = doc("pod name")
    admitted: bool | None = doc("true: admitted; false: rejected", default=None)
    message: TextMatcher | None = doc("the failure message (implies admitted: false)", default=None)
    reason: TextMatcher | None = doc("the pod status reason, e.g. UnexpectedAdmissionError", default=None)

    def describe(self) -> str:
        parts = [f"pod {self.pod}"]
        if self.admitted is not None:
            parts.append("admitted" if self.admitted else "rejected")
        if self.message is not None:
            parts.append(f"message {self.message.describe()}")
        return " ".join(parts)

    def evaluate(self, ctx: Ctx) -> Verdict:
        admission = ctx.admissions.get(self.pod)
        if admission is None:
            return Verdict(False, f"no pod {self.pod} was admitted")
        observed = "admitted" if admission.admitted else f"rejected: {admission.reason}: {admission.message}"
        admitted = (
            self.admitted if self.admitted is not None else (False if self.message is not None else None)
        )
        if admitted is not None and admission.admitted != admitted:
            return Verdict(False, observed)
        for matcher, value in ((self.message, admission.message), (self.reason, admission.reason)):
            if matcher is not None and (why := matcher.match(value, ctx)):
                return Verdict(False, f"{observed} ({why})")
        return Verdict(True, observed)
