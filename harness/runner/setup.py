"""Builds the parts of one scenario case onto an ExitStack, so teardown runs in reverse order.

In order: a short private dir under /tmp (unix socket paths stay < 107 bytes), a simkit Clock
and ObservationLog, the node (simulated, or the machine's GPUs with an overlay for injected
events), the FakeKubelet on ``<dir>/dp/kubelet.sock`` and the plugin launcher. Each teardown
callback is guarded, so one failing part cannot leak the others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness import limits
from harness.context import Paths, Skip, StepFailed
from harness.engine import access as engine
from harness.launchers import LaunchSpec, Unavailable, launchers
from harness.model.scenario import Scenario
from harness.options import RunOptions
from harness.profiles import Profile
from harness.runner.live import LiveCtx
from simkit import Clock, ObservationLog, Pacer
from simkit.pacer import QUIET_S

QUIET_ENV = "HARNESS_QUIET_MS"


def _quiet_window() -> float:
    """The pacer's quiet window in seconds: ``HARNESS_QUIET_MS`` (0: every wait in real time)."""
    raw = os.environ.get(QUIET_ENV, "").strip()
    if not raw:
        return QUIET_S
    try:
        return max(0.0, float(raw) / 1000)
    except ValueError:
        raise StepFailed(
            f"{QUIET_ENV}={raw!r}: expected a number of milliseconds (0 turns pacing off)"
        ) from None


def _short_tmp() -> str:
    return tempfile.mkdtemp(prefix="gh", dir="/tmp")


def launcher_kind(scenario: Scenario, options: RunOptions) -> tuple[str, str]:
    """Which launcher runs the plugin, and its command line ('' for ours in-process)."""
    given = "--plugin-cmd" if options.plugin_cmd else "--plugin-image" if options.plugin_image else ""
    given = given or ("--plugin-manifest" if options.plugin_manifest else "")
    if given and scenario.plugin.command:
        raise Skip(
            "this scenario runs its own plugin (plugin.command) to exercise the kubelet; "
            f"{given} does not apply to it"
        )
    if options.plugin_cmd and (scenario.plugin.image or scenario.plugin.manifest):
        raise Skip(
            "this scenario runs its own plugin image (plugin.image or plugin.manifest) to exercise the "
            "container launcher; --plugin-cmd does not apply to it"
        )
    if options.plugin_image or options.plugin_manifest:
        return "container", ""
    command = options.plugin_cmd or scenario.plugin.command or ""
    image = scenario.plugin.image or scenario.plugin.manifest
    default = "subprocess" if command else "container" if image else "inprocess"
    kind = options.launcher or scenario.plugin.launcher or default
    if options.plugin_cmd and not launchers()[kind].needs_command:
        kind = "subprocess"
    if launchers()[kind].needs_command and not command:
        raise StepFailed(f"the {kind} launcher needs a command: give plugin.command or --plugin-cmd")
    return kind, command


class Setup:
    """Makes the node, the kubelet and the plugin launcher of one case (see the module doc)."""

    def __init__(
        self,
        scenario: Scenario,
        options: RunOptions,
        stack: contextlib.ExitStack,
        profile: Profile,
        node_spec: Any,
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.stack = stack
        self.ctx: LiveCtx | None = None  # as far as it got (for the events of a failed setup)
        self.profile = profile
        self.node_spec = node_spec  # the scenario's own node, or the one --node asks for
        self.borrowed: Callable[[], float] | None = None  # the node server's client time (processes)

    def guard(self, fn: Callable[[], Any]) -> None:
        def safe() -> None:
            with contextlib.suppress(Exception):
                fn()

        self.stack.callback(safe)

    def build(self) -> LiveCtx:
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
        kind, command = launcher_kind(scenario, self.options)
        # The first event; it also keeps the log truthy for components that test `log or ...`.
        log.append(
            "harness",
            "setup",
            scenario=scenario.id,
            tmp=tmp,
            launcher=kind,
            nvml=self.options.nvml,
            profile=self.profile.name,
        )
        ctx = self.ctx = LiveCtx(scenario, clock, log, paths, self.profile, real=self.options.nvml == "real")
        self.node(ctx, kind)
        self.kube_node(ctx, len(ctx.gpus()))
        self.kubelet(ctx)
        self.launcher(ctx, kind, command)
        return ctx

    def node(self, ctx: LiveCtx, kind: str) -> None:
        if ctx.real:
            from harness.realnode import real_node

            real_node(ctx, self.stack, kind)
            return
        from fake_nvml import FakeNVML

        spec = self.scenario.node
        try:
            node = FakeNVML.from_spec(
                self.node_spec,
                seed=spec.seed,
                clock=ctx.clock,
                log=ctx.log,
                max_gpus=limits.NODE_GPUS.value(),
            )
        except (ValueError, OSError) as exc:
            raise StepFailed(f"cannot build the node {spec.spec!r} ({spec.loc}): {exc}") from None
        self.guard(node.close)
        ctx.node = node  # aliases (gpu0) resolve against this node from here on
        ctx.nvml = node
        for alias, profiles in spec.mig.items():
            try:
                node.enable_mig(ctx.devices.gpu_index(alias), profiles)
            except (ValueError, LookupError) as exc:
                raise StepFailed(f"cannot set the MIG layout of {alias} ({spec.loc}): {exc}") from None
        if kind != "inprocess":
            server = node.serve(ctx.paths.nvml_socket)
            self.guard(server.close)
            self.borrowed = server.client_seconds

    def kube_node(self, ctx: LiveCtx, gpus: int) -> None:
        """The node as Kubernetes sees it: labels and taints (pods from manifests are checked)."""
        from harness.scheduling import KubeNode

        spec = self.scenario.node
        try:
            ctx.kube_node = KubeNode.make(gpus, spec.labels, spec.taints)
        except ValueError as exc:
            raise StepFailed(f"{exc} ({spec.loc})") from None

    def kubelet(self, ctx: LiveCtx) -> None:
        from fake_kubelet import FakeKubelet

        spec = self.scenario.kubelet
        tmp = ctx.paths.tmp
        profile = None if ctx.real else getattr(ctx.node, "profile", None)
        cpus = dict(getattr(profile, "cpus_per_numa", None) or {})
        gpu_numa = {g.numa_node for g in ctx.node.gpus if g.numa_node is not None} if not ctx.real else set()
        try:
            kubelet = FakeKubelet(
                ctx.paths.socket_dir,
                clock=ctx.clock,
                log=ctx.log,
                profile=spec.profile,
                version=spec.version,
                feature_gates=dict(spec.feature_gates),
                call_timeout=float(spec.call_timeout),
                dial_timeout=float(spec.dial_timeout),
                prestart_timeout=float(spec.prestart_timeout),
                response_budget=float(spec.response_budget),
                grace_period=float(spec.grace_period),
                topology_policy=spec.topology.policy,
                topology_scope=spec.topology.scope,
                # The machine's NUMA nodes: those with CPUs, and those the GPUs sit on.
                numa_nodes=sorted(set(cpus) | gpu_numa) or None,
                cpus_per_numa=cpus,
                # As on a node: <root>/pod-resources/kubelet.sock and <root>/plugins_registry, beside
                # the device-plugins dir ({socket_dir}/../plugins_registry for a plugin's command line).
                podresources_socket=os.path.join(tmp, "pod-resources", "kubelet.sock"),
                plugins_registry=os.path.join(tmp, "plugins_registry") if spec.plugin_watcher else None,
                readmit_delay=float(spec.readmit_delay),
            )
        except ValueError as exc:
            raise StepFailed(f"cannot set up the kubelet ({spec.loc}): {exc}") from None
        self.guard(kubelet.close)
        # A plugin process's NVML calls are round trips to the simulated node (milliseconds each
        # under load, microseconds on a driver): the kubelet's response budget leaves them out.
        kubelet.timeouts.borrowed = self.borrowed
        ctx.kubelet = kubelet
        if spec.start:
            kubelet.start()

    def _image(self, ctx: LiveCtx) -> tuple[str, str]:
        """The container launcher's image and manifest: the options', else the scenario's."""
        plugin, options = self.scenario.plugin, self.options
        manifest = os.path.abspath(options.plugin_manifest) if options.plugin_manifest else ""
        if not manifest and plugin.manifest and not options.plugin_image:
            manifest = str((Path(self.scenario.path).parent / plugin.manifest).resolve())
        image = options.plugin_image or (ctx.t(plugin.image) if plugin.image and not manifest else "")
        return image, manifest

    def launcher(self, ctx: LiveCtx, kind: str, command: str) -> None:
        plugin = self.scenario.plugin
        args = [ctx.t(a) for a in plugin.args]
        if plugin.config is not None:
            flag = self.profile.config_flag
            if flag is None:
                raise Skip(f"the plugin profile '{self.profile.name}' names no config_flag for 'config:'")
            config_path = os.path.join(ctx.paths.tmp, "config.yaml")
            with open(config_path, "w", encoding="utf-8") as f:
                yaml.safe_dump(plugin.config, f)
            args += [flag, config_path]
        nvml_endpoint = "real" if ctx.real else f"connect:{ctx.paths.nvml_socket}"
        spec = LaunchSpec(
            args,
            {k: ctx.t(v) for k, v in plugin.env.items()},
            ctx.paths.socket_dir,
            ctx.paths.kubelet_socket,
            nvml=ctx.nvml,
            nvml_endpoint=nvml_endpoint,
            clock=ctx.clock,
            command=command,
            scenario_dir=os.path.dirname(os.path.abspath(self.scenario.path)) if self.scenario.path else "",
            resolver=ctx,
            name=self.scenario.id,
        )
        spec.image, spec.manifest = self._image(ctx)
        spec.extra["node"] = ctx.kube_node
        try:
            launcher = launchers()[kind](spec, ctx.log)
        except Unavailable as exc:
            if kind == "container" and engine.required():
                raise StepFailed(f"{exc}; {engine.REQUIRE_ENV} is set, so container cases must run") from None
            raise Skip(str(exc)) from None
        except ValueError as exc:  # a bad image or manifest: the scenario's (or the option's) error
            raise StepFailed(str(exc)) from None
        self.guard(launcher.close)
        ctx.launcher = launcher
        quiet = _quiet_window()
        if kind == "inprocess" and not ctx.real and quiet > 0:
            # Our plugin times its retries, probes and back-offs on the scenario clock, as the
            # node and the kubelet do: waits may jump over quiet stretches (simkit.pacer).
            ctx.pacer = Pacer(
                ctx.clock, ctx.log, quiet, on_jump=lambda s, why: ctx.note("jump", seconds=s, why=why)
            )
        if plugin.start:
            launcher.start()
