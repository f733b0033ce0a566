"""Runs one scenario case: its own temp dir, clock, log, node, kubelet and plugin; always torn down.

Setup makes (in order) a short private dir under /tmp (unix socket paths stay < 107 bytes),
a simkit Clock and ObservationLog, the node (simulated, or the machine's GPUs with an overlay
for injected events), the FakeKubelet on ``<dir>/dp/kubelet.sock`` and the plugin launcher.
Steps run in order; ``never:`` conditions are watched throughout. Teardown runs whatever
happened, each part guarded so one failure cannot leak the rest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from harness.context import Ctx, Paths, Skip, StepFailed
from harness.launchers import (
    InProcessLauncher,
    LaunchSpec,
    NamespaceLauncher,
    SubprocessLauncher,
    Unavailable,
)
from harness.model.base import StepCall
from harness.model.scenario import Scenario
from harness.never import NeverWatch
from harness.result import ERROR, FAILED, PASSED, SKIPPED, Failure, Result, StepResult
from simkit import Clock, ObservationLog


@dataclass
class RunOptions:
    """How to run scenarios: which NVML, and which plugin (default: ours, in-process)."""

    nvml: str = "sim"  # "sim" or "real"
    plugin_cmd: str | None = None  # run this command line (subprocess launcher) instead
    launcher: str | None = None  # force inprocess / subprocess / namespace


def _short_tmp() -> str:
    return tempfile.mkdtemp(prefix="gh", dir="/tmp")


def _launcher_kind(scenario: Scenario, options: RunOptions) -> tuple[str, str]:
    if options.plugin_cmd and scenario.plugin.command:
        raise Skip(
            "this scenario runs its own plugin (plugin.command) to exercise the kubelet; "
            "--plugin-cmd does not apply to it"
        )
    command = options.plugin_cmd or scenario.plugin.command or ""
    kind = options.launcher or scenario.plugin.launcher or ("subprocess" if command else "inprocess")
    if kind in ("subprocess", "namespace") and not command:
        raise StepFailed(f"the {kind} launcher needs a command: give plugin.command or --plugin-cmd")
    if options.plugin_cmd and kind == "inprocess":
        kind = "subprocess"
    return kind, command


class _Setup:
    """Builds the parts of one scenario onto an ExitStack (teardown in reverse order)."""

    def __init__(self, scenario: Scenario, options: RunOptions, stack: contextlib.ExitStack) -> None:
        self.scenario = scenario
        self.options = options
        self.stack = stack

    def guard(self, fn: Callable[[], Any]) -> None:
        def safe() -> None:
            with contextlib.suppress(Exception):
                fn()

        self.stack.callback(safe)

    def build(self) -> Ctx:
        scenario = self.scenario
        tmp = _short_tmp()
        self.stack.callback(shutil.rmtree, tmp, True)
        socket_dir = os.path.join(tmp, "dp")
        os.makedirs(socket_dir, mode=0o750)
        paths = Paths(
            tmp, socket_dir, os.path.join(socket_dir, "kubelet.sock"), os.path.join(tmp, "nvml.sock")
        )
        clock = Clock()
        self.guard(clock.close)
        log = ObservationLog(clock)
        kind, command = _launcher_kind(scenario, self.options)
        # The first event; it also keeps the log truthy for components that test `log or ...`.
        log.append("harness", "setup", scenario=scenario.id, tmp=tmp, launcher=kind, nvml=self.options.nvml)
        ctx = Ctx(scenario, clock, log, paths, real=self.options.nvml == "real")
        self.node(ctx, kind)
        self.kubelet(ctx)
        self.launcher(ctx, kind, command)
        return ctx

    def node(self, ctx: Ctx, kind: str) -> None:
        if ctx.real:
            from harness.realnode import real_node

            real_node(ctx, self.stack, kind)
            return
        from fake_nvml import FakeNVML

        spec = self.scenario.node
        try:
            node = FakeNVML.from_spec(spec.source(), seed=spec.seed, clock=ctx.clock, log=ctx.log)
        except (ValueError, OSError) as exc:
            raise StepFailed(f"cannot build the node {spec.spec!r} ({spec.loc}): {exc}") from None
        self.guard(node.close)
        ctx.node = ctx.nvml = node  # aliases (gpu0) resolve against this node from here on
        for alias, profiles in spec.mig.items():
            try:
                node.enable_mig(ctx.devices.gpu_index(alias), profiles)
            except (ValueError, LookupError) as exc:
                raise StepFailed(f"cannot set the MIG layout of {alias} ({spec.loc}): {exc}") from None
        if kind != "inprocess":
            server = node.serve(ctx.paths.nvml_socket)
            self.guard(server.close)

    def kubelet(self, ctx: Ctx) -> None:
        from fake_kubelet import FakeKubelet

        spec = self.scenario.kubelet
        kubelet = FakeKubelet(ctx.paths.socket_dir, clock=ctx.clock, log=ctx.log, profile=spec.profile)
        self.guard(kubelet.close)
        ctx.kubelet = kubelet
        if spec.start:
            kubelet.start()

    def launcher(self, ctx: Ctx, kind: str, command: str) -> None:
        plugin = self.scenario.plugin
        args = [ctx.t(a) for a in plugin.args]
        if plugin.config is not None:
            config_path = os.path.join(ctx.paths.tmp, "config.yaml")
            with open(config_path, "w", encoding="utf-8") as f:
                yaml.safe_dump(plugin.config, f)
            args += ["--config-file", config_path]
        nvml_endpoint = "real" if ctx.real else f"connect:{ctx.paths.nvml_socket}"
        spec = LaunchSpec(
            args,
            {k: ctx.t(v) for k, v in plugin.env.items()},
            ctx.paths.socket_dir,
            ctx.paths.kubelet_socket,
            nvml=ctx.nvml,
            nvml_endpoint=nvml_endpoint,
            command=command,
            scenario_dir=os.path.dirname(os.path.abspath(self.scenario.path)) if self.scenario.path else "",
        )
        cls = {
            "inprocess": InProcessLauncher,
            "subprocess": SubprocessLauncher,
            "namespace": NamespaceLauncher,
        }[kind]
        try:
            launcher = cls(spec, ctx.log)
        except Unavailable as exc:
            raise Skip(str(exc)) from None
        self.guard(launcher.close)
        ctx.launcher = launcher
        if plugin.start:
            launcher.start()


def _gpus(ctx: Ctx | None) -> list[dict[str, Any]]:
    if ctx is None:
        return []
    with contextlib.suppress(Exception):
        return [
            {
                "alias": f"gpu{g.index}",
                "uuid": g.uuid,
                "name": g.name,
                "mig": [m.uuid for m in getattr(g, "mig_devices", [])],
            }
            for g in ctx._gpus()
        ]
    return []


def run_scenario(
    scenario: Scenario,
    options: RunOptions | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    around_step: Callable[[StepCall], contextlib.AbstractContextManager[Any]] | None = None,
) -> Result:
    """Run one case and return its Result (never raises for scenario failures).

    ``on_step`` sees each finished step; ``around_step`` wraps each step's run (allure steps).
    """
    options = options or RunOptions()
    result = Result(
        scenario.id, scenario.path, scenario.case, scenario.title, scenario.description, list(scenario.tags)
    )
    t0 = time.perf_counter()
    ctx: Ctx | None = None
    stack = contextlib.ExitStack()
    t_steps = t0
    try:
        with stack:
            try:
                if options.nvml == "real":
                    from harness.realnode import check_requirements

                    check_requirements(scenario, options)
                ctx = _Setup(scenario, options, stack).build()
                result.launcher = type(ctx.launcher).__name__
                ctx.never = NeverWatch(ctx, scenario.never)
                ctx.never.start()
                stack.callback(ctx.never.stop)
                t_steps = time.perf_counter()
                result.setup_s = t_steps - t0
                _run_steps(ctx, result, on_step, around_step)
                _check_never(ctx, final=True)
                result.status = PASSED
            except Skip as exc:
                result.status, result.skip_reason = SKIPPED, str(exc)
            except StepFailed as exc:
                step = ctx.step if ctx is not None else None
                result.status = FAILED
                result.failure = Failure(
                    step.title() if step else "setup",
                    str(step.loc if step else scenario.loc),
                    exc.message,
                    exc.expectation,
                    exc.observed,
                )
            except Exception as exc:  # a bug in a component or in the harness: show where
                step = ctx.step if ctx is not None else None
                result.status = ERROR
                result.failure = Failure(
                    step.title() if step else "setup",
                    str(step.loc if step else scenario.loc),
                    f"{type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(limit=8),
                )
            finally:
                if ctx is not None:
                    ctx.note("teardown", status=result.status)
                t_end = time.perf_counter()
                if result.setup_s == 0.0:
                    result.setup_s = t_end - t0
                else:
                    result.run_s = t_end - t_steps
                t_teardown = t_end
    finally:
        result.teardown_s = time.perf_counter() - t_teardown
        if ctx is not None:
            result.events = [e.to_dict() for e in ctx.log.events()]
            result.gpus = _gpus(ctx)
    return result


def _check_never(ctx: Ctx, final: bool = False) -> None:
    if ctx.never is None:
        return
    violation = ctx.never.check_now() if final else ctx.never.violation
    if violation is not None:
        raise StepFailed(
            f"a 'never' condition held at t={violation.t:.3f}s (during {violation.step})",
            expectation=f"never: {violation.condition} ({violation.loc})",
            observed=violation.observed,
        )


def _run_steps(
    ctx: Ctx,
    result: Result,
    on_step: Callable[[StepResult], None] | None,
    around_step: Callable[[StepCall], contextlib.AbstractContextManager[Any]] | None,
) -> None:
    for call in ctx.scenario.steps:
        ctx.step = call
        step = call.step
        if call.at is not None and call.at > ctx.clock.now():
            ctx.clock.advance(float(call.at) - ctx.clock.now())
        if step.key != "expect":
            ctx.step_seq = ctx.log.last_seq
        record = StepResult(
            call.index, step.key, call.title(), str(call.loc), PASSED, t_start=ctx.clock.now()
        )
        ctx.note("step", index=call.index, step=step.key, text=call.name or step.describe())
        wall = time.perf_counter()
        try:
            with around_step(call) if around_step is not None else contextlib.nullcontext():
                step.run(ctx)
                _check_never(ctx)
        except StepFailed as exc:
            record.status, record.message = FAILED, exc.message
            raise
        except Exception as exc:
            record.status, record.message = ERROR, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.t_end = ctx.clock.now()
            record.wall_s = time.perf_counter() - wall
            result.steps.append(record)
            if on_step is not None:
                on_step(record)
    ctx.step = None
