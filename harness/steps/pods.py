"""Pods through the kubelet's device manager: admit (Allocate), delete, start and restart containers."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.context import StepError, StepFailed
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Step
from harness.model.counts import Count
from harness.model.matcher import TextMatcher
from harness.model.numbers import Natural
from harness.model.registry import step
from harness.model.schema import doc, one_field_shorthand

if TYPE_CHECKING:
    from harness.context import Ctx
    from harness.templating import Resolver


@dataclass
class ContainerSpec:
    """A container and its extended-resource limits."""

    name: str = doc("container name")
    gpus: Count | None = doc(
        "shorthand: this many devices of the scenario's resource (a count such as 2 or '{gpus}')",
        default=None,
    )
    limits: dict[str, Natural] = doc(
        "limits per resource, e.g. {nvidia.com/mig-1g.10gb: 1}", default_factory=dict
    )
    restartable: bool = doc(
        "an init container with restartPolicy Always (a sidecar: keeps its devices)", default=False
    )

    def limits_for(self, resource: str, resolver: Resolver) -> dict[str, int]:
        limits: dict[str, int] = dict(self.limits)
        if self.gpus is not None:
            limits[resource] = self.gpus.value(resolver)
        return limits


def _pod_of(ctx: Ctx, name: str) -> Any:
    if name not in ctx.pods:
        known = ", ".join(ctx.pods) or "none yet"
        raise StepError(
            f"no pod '{name}' was admitted in this scenario (pods: {known})",
            fix=f"admit it first ('admit: {{pod: {name}, gpus: 1}}'), or name one of the pods above",
        )
    return ctx.pods[name]


@step("admit")
@dataclass
class Admit(Step):
    """Admit a pod: the kubelet allocates devices for each container (init containers first).

    A pod from a ``manifest`` (a Pod, or a Deployment's or Job's pod template) is placed first:
    the scheduler refuses it unless it tolerates the node's taints and matches its nodeSelector
    and node affinity (the kubelet checks those itself for a pod bound by ``nodeName``).
    """

    pod: str = doc("pod name (a manifest's pod is named by its metadata.name)", default="")
    containers: list[ContainerSpec] = doc("app containers", default_factory=list)
    init_containers: list[ContainerSpec] = doc(
        "init containers, run in order before the app containers", default_factory=list
    )
    gpus: Count | None = doc(
        "shorthand for one container 'main' asking for this many devices (2, '{gpus}', '{gpus-1}')",
        default=None,
    )
    fails: TextMatcher | None = doc("the admission must fail with a message matching this", default=None)
    manifest: str | None = doc(
        "a Pod, Deployment, Job... manifest (relative to the scenario) whose pod is admitted", default=None
    )

    def validate(self, node: YNode) -> None:
        if self.manifest is not None:
            if self.gpus is not None or self.containers or self.init_containers or self.pod:
                raise ScenarioError(
                    node.key_loc("manifest"), "a manifest's pod brings its own name and containers"
                )
            return
        if not self.pod:
            raise ScenarioError(node.loc, "admit needs a pod name", expected="pod: p1 (or manifest: FILE)")
        if self.gpus is not None and self.containers:
            raise ScenarioError(node.key_loc("gpus"), "give either 'gpus' (one container) or 'containers'")
        if self.gpus is None and not self.containers:
            raise ScenarioError(
                node.loc,
                f"pod '{self.pod}' has no containers",
                expected="containers: [{name: main, gpus: 1}] or gpus: 1",
            )

    def describe(self) -> str:
        if self.manifest is not None:
            return f"admit the pod of {self.manifest}" + (" expecting failure" if self.fails else "")
        parts = [f"{c.name}={c.gpus if c.gpus is not None else c.limits}" for c in self.containers]
        shape = f"{self.gpus} devices" if self.gpus is not None else ", ".join(parts)
        return f"admit pod {self.pod} ({shape})" + (" expecting failure" if self.fails else "")

    def build(self, ctx: Ctx) -> Any:
        from fake_kubelet import Container, Pod

        resource = ctx.scenario.resource
        containers = self.containers or [ContainerSpec("main", self.gpus)]

        def make(spec: ContainerSpec) -> Any:
            return Container(spec.name, spec.limits_for(resource, ctx), restartable=spec.restartable)

        return Pod(
            self.pod,
            containers=[make(c) for c in containers],
            init_containers=[make(c) for c in self.init_containers],
        )

    def _from_manifest(self, ctx: Ctx) -> tuple[str, Any, Any]:
        """``(name, pod, refusal)``: the manifest's pod, and who refuses it before the kubelet."""
        from harness.manifests.pods import read_pod
        from harness.scheduling import Refusal, admit

        path = Path(ctx.scenario.path).parent / str(self.manifest)
        try:
            made = read_pod(path)
        except ScenarioError as exc:
            raise StepFailed(f"cannot read the pod manifest: {exc}") from None
        ctx.note("pod_manifest", pod=made.name, manifest=str(path), not_honoured=[str(n) for n in made.notes])
        if made.invalid:
            return made.name, None, Refusal("apiserver", "Invalid", made.invalid)
        refusal = admit(made.placement, ctx.kube_node)
        if refusal is not None:
            ctx.note(
                "pod_refused", pod=made.name, by=refusal.by, reason=refusal.reason, message=refusal.message
            )
        return made.name, made.pod, refusal

    def run(self, ctx: Ctx) -> None:
        refusal = None
        try:
            if self.manifest is not None:
                name, pod, refusal = self._from_manifest(ctx)
            else:
                name, pod = self.pod, self.build(ctx)
        except ValueError as exc:
            raise StepFailed(str(exc)) from None
        if refusal is not None:
            admitted, reason, message, devices = False, refusal.reason, refusal.message, "none"
        else:
            if name in ctx.kubelet.pods():
                raise StepError(
                    f"pod '{name}' is already admitted, so it cannot be admitted again",
                    fix=f"delete it first ('delete: {name}'), or give this pod another name",
                )
            admission = ctx.kubelet.admit(pod)
            ctx.pods[name] = pod
            ctx.admissions[name] = admission
            admitted, reason, message = admission.admitted, admission.reason, admission.message
            devices = _devices(admission)
        if self.fails is not None:
            if admitted:
                raise StepFailed(
                    f"pod {name} was admitted, but the scenario expects admission to fail",
                    expectation=f"admission fails with {self.fails.describe()}",
                    observed=f"admitted with devices {devices}",
                )
            if why := self.fails.match(message, ctx):
                raise StepFailed(
                    f"pod {name} failed admission, but not as expected",
                    expectation=f"message {self.fails.describe()}",
                    observed=f"{reason}: {message} ({why})",
                )
        elif not admitted:
            raise StepFailed(
                f"pod {name} was not admitted",
                expectation="admission succeeds",
                observed=f"{reason}: {message}",
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
        except KeyError as exc:  # the pod has no such container
            raise StepError(str(exc).strip("'\""), fix="name one of the pod's containers") from None
        except ValueError as exc:  # restarting a container that never started
            raise StepError(
                str(exc),
                fix=f"start it first ('start_container: {{pod: {self.pod}, container: {self.container}}}')",
            ) from None
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
