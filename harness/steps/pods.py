"""Pods through the kubelet: admit (Allocate), await, delete, complete; start, restart and stop containers."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from harness.context import BLOCKING_HORIZON_S, StepError, StepFailed
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Step
from harness.model.counts import Count
from harness.model.duration import Wait
from harness.model.matcher import TextMatcher
from harness.model.numbers import Natural
from harness.model.registry import step
from harness.model.schema import doc, one_field_shorthand
from simkit import WaitTimeout

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

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


def _outcome(ctx: Ctx, future: Future[Any], what: str, timeout: float | None = None) -> Any:
    """The outcome of a kubelet call in flight, waited for on the scenario's log: the wait ends
    when the call does, or at once when the case runs out of wall-clock time (the runner aborts
    the log), so a plugin that never answers cannot outlast the case. Raises WaitTimeout."""
    future.add_done_callback(lambda _: ctx.log.touch())
    ctx.log.wait_for(future.done, timeout, what)
    return future.result()


def _blocking(ctx: Ctx, what: str, call: Callable[[], Any]) -> Any:
    """``call()`` (a kubelet call that may wait on the plugin) on a thread of its own, waited for
    as :func:`_outcome` waits; after an abort the thread ends with the call, at teardown at last."""
    future: Future[Any] = Future()

    def work() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name=f"step {what}", daemon=True).start()
    return _outcome(ctx, future, what)


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
    wait: bool = doc(
        "false: start the admission and go on at once (it runs while later steps move the clock); "
        "an 'await' step checks its outcome",
        default=True,
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
            _hold(ctx, name, False, refusal.reason, refusal.message, "none", self.fails)
            return
        if name in ctx.kubelet.pods():
            raise StepError(
                f"pod '{name}' is already admitted, so it cannot be admitted again",
                fix=f"delete it first ('delete: {name}'), or give this pod another name",
            )
        ctx.pods[name] = pod
        if not self.wait:
            ctx.kubelet.admit_async(pod)
            return
        with _kubelet_paced(ctx, "admit"):
            admission = _blocking(ctx, f"the admission of {name}", lambda: ctx.kubelet.admit(pod))
        check_admission(ctx, name, admission, self.fails)


def _kubelet_paced(ctx: Ctx, why: str) -> AbstractContextManager[None]:
    """While the kubelet calls the plugin: a hung call meets its deadline at once when all is quiet."""
    return ctx.paced(ctx.clock.now() + BLOCKING_HORIZON_S, why=why)


def check_admission(ctx: Ctx, name: str, admission: Any, fails: TextMatcher | None) -> None:
    """Record an admission's outcome and hold it to what the scenario said."""
    ctx.admissions[name] = admission
    _hold(ctx, name, admission.admitted, admission.reason, admission.message, _devices(admission), fails)


def _hold(
    ctx: Ctx, name: str, admitted: bool, reason: str, message: str, devices: str, fails: TextMatcher | None
) -> None:
    if fails is not None:
        if admitted:
            raise StepFailed(
                f"pod {name} was admitted, but the scenario expects admission to fail",
                expectation=f"admission fails with {fails.describe()}",
                observed=f"admitted with devices {devices}",
            )
        if why := fails.match(message, ctx):
            raise StepFailed(
                f"pod {name} failed admission, but not as expected",
                expectation=f"message {fails.describe()}",
                observed=f"{reason}: {message} ({why})",
            )
    elif not admitted:
        raise StepFailed(
            f"pod {name} was not admitted",
            expectation="admission succeeds",
            observed=f"{reason}: {message}",
        )


@step("await")
@dataclass
class Await(Step):
    """Wait for an admission or container start begun with 'wait: false', and check its outcome."""

    pod: str = doc("pod name")
    container: str | None = doc("a container start (default: the pod's admission)", default=None)
    fails: TextMatcher | None = doc("it must fail with a message matching this", default=None)
    within: Wait | None = doc("how long it may still take (default: the scenario's within)", default=None)

    shorthand, shorthand_expected = one_field_shorthand("pod", "just the pod name, e.g. 'await: p1'")

    def describe(self) -> str:
        what = f"start of {self.pod}/{self.container}" if self.container else f"admission of {self.pod}"
        return f"await the {what}" + (" expecting failure" if self.fails else "")

    def run(self, ctx: Ctx) -> None:
        future = ctx.kubelet.in_flight(self.pod, self.container)
        if future is None:
            raise StepFailed(
                f"nothing of pod {self.pod} is in flight: start it with 'wait: false' "
                f"({'start_container' if self.container else 'admit'} step) first"
            )
        timeout = float(self.within if self.within is not None else ctx.scenario.within)
        try:
            outcome = _outcome(ctx, future, self.describe(), timeout)
        except WaitTimeout:
            raise StepFailed(
                f"the {self.describe()[10:]} did not finish within {timeout:g}s",
                expectation="it finishes",
                observed="still in flight (a hung plugin call: advance the clock past its deadline)",
            ) from None
        if self.container is None:
            check_admission(ctx, self.pod, outcome, self.fails)
        else:
            check_start(ctx, self.pod, self.container, outcome, self.fails)


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
            with _kubelet_paced(ctx, self.verb):
                started = self.call(ctx, pod)
        except KeyError as exc:  # the pod has no such container
            raise StepError(str(exc).strip("'\""), fix="name one of the pod's containers") from None
        except ValueError as exc:  # restarting a container that never started
            raise StepError(
                str(exc),
                fix=f"start it first ('start_container: {{pod: {self.pod}, container: {self.container}}}')",
            ) from None
        if started is not None:
            check_start(ctx, self.pod, self.container, started, self.fails)


def check_start(ctx: Ctx, pod: str, container: str, started: Any, fails: TextMatcher | None) -> None:
    ctx.starts.append(started)
    error = getattr(started, "error", None)
    if fails is not None:
        if error is None:
            raise StepFailed(
                f"container {pod}/{container} started, but should have failed",
                expectation=f"start fails with {fails.describe()}",
                observed="started",
            )
        if why := fails.match(error, ctx):
            raise StepFailed(
                f"container {pod}/{container} failed to start, but not as expected",
                expectation=fails.describe(),
                observed=f"{error} ({why})",
            )
    elif error is not None:
        raise StepFailed(
            f"container {pod}/{container} did not start", expectation="the container starts", observed=error
        )


@step("start_container")
@dataclass
class StartContainer(_ContainerStep):
    """Start a container of an admitted pod (PreStartContainer is called when the plugin asks for it)."""

    wait: bool = doc(
        "false: start it in the background and go on at once; an 'await' step with the container checks it",
        default=True,
    )

    def call(self, ctx: Ctx, pod: Any) -> Any:
        if not self.wait:
            ctx.kubelet.start_container_async(pod, self.container)
            return None
        return _blocking(
            ctx, f"the start of {self.container}", lambda: ctx.kubelet.start_container(pod, self.container)
        )


@step("restart_container")
@dataclass
class RestartContainer(_ContainerStep):
    """Restart a container: no new Allocate; the cached response is reused."""

    verb = "restart"

    def call(self, ctx: Ctx, pod: Any) -> Any:
        return _blocking(
            ctx,
            f"the restart of {self.container}",
            lambda: ctx.kubelet.restart_container(pod, self.container),
        )


@step("stop_container")
@dataclass
class StopContainer(Step):
    """A container exits and waits to be restarted: it keeps its devices but no longer runs (after a
    kubelet restart it is admitted again with the device checks)."""

    pod: str = doc("pod name")
    container: str = doc("container name", default="main")

    def describe(self) -> str:
        return f"container {self.pod}/{self.container} exits"

    def run(self, ctx: Ctx) -> None:
        try:
            ctx.kubelet.stop_container(_pod_of(ctx, self.pod), self.container)
        except KeyError as exc:  # the pod has no such container
            raise StepError(str(exc).strip("'\""), fix="name one of the pod's containers") from None


@step("complete")
@dataclass
class Complete(Step):
    """The pod runs to completion (restartPolicy Never): Succeeded or Failed, no longer active."""

    pod: str = doc("pod name")
    phase: Literal["Succeeded", "Failed"] = doc("how it ended", default="Succeeded")

    shorthand, shorthand_expected = one_field_shorthand("pod", "just the pod name, e.g. 'complete: p1'")

    def describe(self) -> str:
        return f"pod {self.pod} completes ({self.phase})"

    def run(self, ctx: Ctx) -> None:
        try:
            ctx.kubelet.complete_pod(_pod_of(ctx, self.pod), self.phase)
        except KeyError as exc:
            raise StepFailed(str(exc).strip("'\"")) from None
