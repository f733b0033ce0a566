"""Pods through the kubelet's device manager: admit (Allocate), delete, start and restart containers."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.context import StepFailed
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Step
from harness.model.matcher import TextMatcher
from harness.model.numbers import Natural
from harness.model.registry import step
from harness.model.schema import doc, one_field_shorthand

if TYPE_CHECKING:
    from harness.context import Ctx


@dataclass
class ContainerSpec:
    """A container and its extended-resource limits."""

    name: str = doc("container name")
    gpus: Natural | None = doc("shorthand: this many devices of the scenario's resource", default=None)
    limits: dict[str, Natural] = doc(
        "limits per resource, e.g. {nvidia.com/mig-1g.10gb: 1}", default_factory=dict
    )
    restartable: bool = doc(
        "an init container with restartPolicy Always (a sidecar: keeps its devices)", default=False
    )

    def limits_for(self, resource: str) -> dict[str, int]:
        limits: dict[str, int] = dict(self.limits)
        if self.gpus is not None:
            limits[resource] = self.gpus
        return limits


def _pod_of(ctx: Ctx, name: str) -> Any:
    if name not in ctx.pods:
        known = ", ".join(ctx.pods) or "none yet"
        raise StepFailed(f"no pod '{name}' was admitted in this scenario (pods: {known})")
    return ctx.pods[name]


@step("admit")
@dataclass
class Admit(Step):
    """Admit a pod: the kubelet allocates devices for each container (init containers first)."""

    pod: str = doc("pod name")
    containers: list[ContainerSpec] = doc("app containers", default_factory=list)
    init_containers: list[ContainerSpec] = doc(
        "init containers, run in order before the app containers", default_factory=list
    )
    gpus: Natural | None = doc(
        "shorthand for one container 'main' asking for this many devices", default=None
    )
    fails: TextMatcher | None = doc("the admission must fail with a message matching this", default=None)

    def validate(self, node: YNode) -> None:
        if self.gpus is not None and self.containers:
            raise ScenarioError(node.key_loc("gpus"), "give either 'gpus' (one container) or 'containers'")
        if self.gpus is None and not self.containers:
            raise ScenarioError(
                node.loc,
                f"pod '{self.pod}' has no containers",
                expected="containers: [{name: main, gpus: 1}] or gpus: 1",
            )

    def describe(self) -> str:
        parts = [f"{c.name}={c.gpus if c.gpus is not None else c.limits}" for c in self.containers]
        shape = f"{self.gpus} devices" if self.gpus is not None else ", ".join(parts)
        return f"admit pod {self.pod} ({shape})" + (" expecting failure" if self.fails else "")

    def build(self, ctx: Ctx) -> Any:
        from fake_kubelet import Container, Pod

        resource = ctx.scenario.resource
        containers = self.containers or [ContainerSpec("main", self.gpus)]

        def make(spec: ContainerSpec) -> Any:
            return Container(spec.name, spec.limits_for(resource), restartable=spec.restartable)

        return Pod(
            self.pod,
            containers=[make(c) for c in containers],
            init_containers=[make(c) for c in self.init_containers],
        )

    def run(self, ctx: Ctx) -> None:
        try:
            pod = self.build(ctx)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        admission = ctx.kubelet.admit(pod)
        ctx.pods[self.pod] = pod
        ctx.admissions[self.pod] = admission
        if self.fails is not None:
            if admission.admitted:
                raise StepFailed(
                    f"pod {self.pod} was admitted, but the scenario expects admission to fail",
                    expectation=f"admission fails with {self.fails.describe()}",
                    observed=f"admitted with devices {_devices(admission)}",
                )
            if why := self.fails.match(admission.message, ctx):
                raise StepFailed(
                    f"pod {self.pod} failed admission, but not as expected",
                    expectation=f"message {self.fails.describe()}",
                    observed=f"{admission.reason}: {admission.message} ({why})",
                )
        elif not admission.admitted:
            raise StepFailed(
                f"pod {self.pod} was not admitted",
                expectation="admission succeeds",
                observed=f"{admission.reason}: {admission.message}",
            )


def _devices(admission: Any) -> str:
    return ", ".join(f"{a.container}: {a.devices}" for a in admission.allocations) or "none"


@step("delete")
@dataclass
class Delete(Step):
    """Delete a pod: its devices go back to the pool."""

    pod: str = doc("pod name")

    shorthand, shorthand_expected = one_field_shorthand("pod", "just the pod name, e.g. 'delete: p1'")

    def describe(self) -> str:
        return f"delete pod {self.pod}"

    def run(self, ctx: Ctx) -> None:
        pod = _pod_of(ctx, self.pod)
        ctx.kubelet.delete_pod(pod)
        ctx.pods.pop(self.pod, None)


@dataclass
class _ContainerStep(Step):
    pod: str = doc("pod name")
    container: str = doc("container name", default="main")
    fails: TextMatcher | None = doc("the start must fail with a message matching this", default=None)

    verb = "start"

    def describe(self) -> str:
        return f"{self.verb} container {self.pod}/{self.container}"

    def call(self, ctx: Ctx, pod: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, ctx: Ctx) -> None:
        pod = _pod_of(ctx, self.pod)
        try:
            started = self.call(ctx, pod)
        except KeyError as exc:
            raise StepFailed(str(exc).strip("'\"")) from None
        ctx.starts.append(started)
        error = getattr(started, "error", None)
        if self.fails is not None:
            if error is None:
                raise StepFailed(
                    f"container {self.pod}/{self.container} started, but should have failed",
                    expectation=f"start fails with {self.fails.describe()}",
                    observed="started",
                )
            if why := self.fails.match(error, ctx):
                raise StepFailed(
                    f"container {self.pod}/{self.container} failed to start, but not as expected",
                    expectation=self.fails.describe(),
                    observed=f"{error} ({why})",
                )
        elif error is not None:
            raise StepFailed(
                f"container {self.pod}/{self.container} did not start",
                expectation="the container starts",
                observed=error,
            )


@step("start_container")
@dataclass
class StartContainer(_ContainerStep):
    """Start a container of an admitted pod (PreStartContainer is called when the plugin asks for it)."""

    def call(self, ctx: Ctx, pod: Any) -> Any:
        return ctx.kubelet.start_container(pod, self.container)


@step("restart_container")
@dataclass
class RestartContainer(_ContainerStep):
    """Restart a container: no new Allocate; the cached response is reused."""

    verb = "restart"

    def call(self, ctx: Ctx, pod: Any) -> Any:
        return ctx.kubelet.restart_container(pod, self.container)
