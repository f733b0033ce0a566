"""The scenario model: what a scenario file may say, and how a file becomes its cases.

These dataclasses are the schema (see :mod:`harness.model.schema`); the reference table in
``docs/scenarios.md`` is generated from them (``python -m harness schema``).
"""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fake_nvml.injections import simulated_only
from harness import limits
from harness.errors import Loc, ScenarioError, did_you_mean, one_of
from harness.loader import YNode, paused_gc
from harness.model.calls import ConditionSet, StepCall
from harness.model.compose import Case, compose
from harness.model.declared import declared_node
from harness.model.duration import Duration, Wait, WallCap
from harness.model.schema import ParseCtx, doc, loc_field, one_field_shorthand, parse, parse_dataclass
from harness.model.text import Text
from harness.requires import GpuRange, check_features
from harness.templating import TemplateError, check_command

NODE_SHORTHAND = re.compile(r"^\d+x[\w.+-]+$")


class LauncherName(str):
    """A name from the launcher table (built in, or added by an installed package)."""

    @classmethod
    def yaml_expected(cls) -> str:
        from harness.launchers import launchers

        return one_of(launchers())

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> LauncherName:
        from harness.launchers import launchers

        names = launchers()
        if not isinstance(node.value, str) or node.value not in names:
            hint = did_you_mean(str(node.value), names) if isinstance(node.value, str) else ""
            raise ScenarioError(
                node.loc, f"'launcher' cannot be {node.kind()}", expected=cls.yaml_expected(), suggestion=hint
            )
        return cls(node.value)


@dataclass
class NodeSpec:
    """The simulated node: a shorthand (``4xH100``), a node-profile file, or an inline profile."""

    spec: Any = doc(
        "'4xH100'-style shorthand, a node-profile file (relative to the scenario) or "
        "an inline profile mapping (docs/node-profile.md)",
        default="4xH100",
    )
    seed: int = doc("seed for generated identifiers (UUIDs, serials)", default=0)
    mig: dict[str, list[str]] = doc(
        "MIG layout: GPU alias → GPU-instance profiles to create (e.g. gpu0: [3g.40gb, 3g.40gb])",
        default_factory=dict,
    )
    labels: dict[str, str] = doc(
        "the Kubernetes node's labels, added to kubernetes.io/hostname, kubernetes.io/os, "
        "kubernetes.io/arch (and nvidia.com/gpu.present on a node with GPUs)",
        default_factory=dict,
    )
    taints: list[str] | None = doc(
        "the node's taints as kubectl writes them (key[=value]:Effect); default: "
        "nvidia.com/gpu:NoSchedule on a node with GPUs, as GPU node pools are tainted",
        default=None,
    )
    loc: Loc = loc_field()

    shorthand, shorthand_expected = one_field_shorthand(
        "spec", "a shorthand such as 4xH100 or a profile file name"
    )

    def source(self) -> str | dict[str, Any]:
        """The spec as FakeNVML.from_spec takes it (profile paths made absolute)."""
        if isinstance(self.spec, str) and self.spec.endswith((".yaml", ".yml")):
            return str((Path(self.loc.path).parent / self.spec).resolve())
        spec: str | dict[str, Any] = self.spec
        return spec


@dataclass
class TopologySpec:
    """The kubelet's TopologyManager: how it aligns devices (and CPUs) to NUMA nodes."""

    policy: Literal["none", "best-effort", "restricted", "single-numa-node"] = doc(
        "none (no alignment), best-effort, restricted or single-numa-node (the kubelet's policies)",
        default="none",
    )
    scope: Literal["container", "pod"] = doc("align each container, or the whole pod", default="container")
    loc: Loc = loc_field()

    shorthand, shorthand_expected = one_field_shorthand("policy", "just the policy, e.g. single-numa-node")


@dataclass
class KubeletSpec:
    """The fake kubelet: which era's bookkeeping, feature gates, deadlines and options it has."""

    profile: Literal["resource", "resource+socket"] = doc(
        "'resource' (kubelet 1.26-1.35: endpoints keyed by resource name) or 'resource+socket' "
        "(newer: keyed by resource and socket path)",
        default="resource",
    )
    version: str = doc(
        "the kubelet minor version its feature gates follow, e.g. '1.31' (1.26 to 1.36)", default="1.35"
    )
    feature_gates: dict[str, bool] = doc(
        "gates to turn on or off, e.g. {ResourceHealthStatus: true}", default_factory=dict
    )
    topology: TopologySpec = doc(
        "the TopologyManager policy and scope (NUMA nodes and CPUs come from the node profile)",
        default_factory=TopologySpec,
    )
    call_timeout: Duration = doc(
        "deadline of GetDevicePluginOptions, GetPreferredAllocation and Allocate (the kubelet has none)",
        default=Duration(10.0),
    )
    dial_timeout: Duration = doc("how long Register waits to connect to the plugin", default=Duration(10.0))
    prestart_timeout: Duration = doc("deadline of PreStartContainer", default=Duration(30.0))
    response_budget: Duration = doc(
        "a call slower than this is a response_time violation", default=Duration(1.0)
    )
    grace_period: Duration = doc(
        "how long a stopped endpoint keeps its resource before capacity drops to 0", default=Duration(300.0)
    )
    plugin_watcher: bool = doc(
        "watch {plugins_registry} for plugins that register in probe mode (GetInfo)", default=False
    )
    readmit_delay: Duration = doc(
        "after a restart or reboot, wait this long before admitting the pods again "
        "(0: before any plugin can register)",
        default=Duration(0.0),
    )
    start: bool = doc("start the kubelet before the first step", default=True)
    loc: Loc = loc_field()

    shorthand, shorthand_expected = one_field_shorthand("profile", "just the profile name")


@dataclass
class PluginSpec:
    """The plugin under test: our plugin in-process by default, or any command line."""

    args: list[Text] = doc(
        "extra command-line flags (templates allowed, e.g. {socket_dir})", default_factory=list
    )
    env: dict[str, Text] = doc("environment variables (e.g. DP_DISABLE_HEALTHCHECKS)", default_factory=dict)
    config: Any = doc(
        "content of the plugin's config file (written to a file and passed with --config-file)", default=None
    )
    start: bool = doc("start the plugin before the first step", default=True)
    command: Text | None = doc(
        "run this command line instead of our in-process plugin; placeholders "
        "{socket_dir}, {kubelet_socket}, {nvml}, {python}, {scenario_dir}",
        default=None,
    )
    launcher: LauncherName | None = doc(
        "how to run it: inprocess (our plugin, default), subprocess (command), namespace (command in a "
        "private mount namespace with the socket dir at /var/lib/kubelet/device-plugins), container "
        "(image, as its DaemonSet runs it)",
        default=None,
    )
    image: Text | None = doc(
        "run this container image (container launcher; localhost/gpu-device-plugin:dev is ours, built "
        "on first use); command replaces its entrypoint, args its command",
        default=None,
    )
    manifest: str | None = doc(
        "a DaemonSet, Deployment or Pod manifest (relative to the scenario) whose plugin container "
        "runs as the kubelet would run it (container launcher)",
        default=None,
    )
    loc: Loc = loc_field()

    def validate(self, node: YNode) -> None:
        """A command line that cannot be split into words fails here, not at every start."""
        if self.command is None or (command := node.get("command")) is None:
            return
        try:
            check_command(self.command)
        except TemplateError as exc:
            raise ScenarioError(command.loc, str(exc), suggestion=exc.hint) from None


@dataclass
class Requires:
    """What a case needs from the node and the plugin; a run that cannot offer it skips the case."""

    gpus: GpuRange = doc(
        "the GPU counts its expectations hold for: 2 or '2..' (at least 2), '1..4', '4..4' (exactly 4); "
        "checked on real GPUs and with --node",
        default=GpuRange(1, None),
    )
    mig: bool = doc("a MIG-capable GPU with MIG enabled", default=False)
    nvlink: bool = doc("GPUs connected by NVLink", default=False)
    simulated: bool = doc(
        f"faults that only the simulated node can make ({', '.join(simulated_only())})",
        default=False,
    )
    features: list[str] = doc(
        "features the plugin's profile must claim (docs/conformance.md, 'Features')", default_factory=list
    )
    loc: Loc = loc_field()

    def validate(self, node: YNode) -> None:
        check_features(self.features, node.get("features"))


@dataclass
class Scenario:
    """One scenario case: a node, a kubelet, a plugin under test, and ordered steps."""

    description: str = doc("one line: the behaviour this scenario pins")
    steps: list[StepCall] = doc("what happens, in order (actions and expectations)")
    source: str = doc("where the behaviour comes from (kubelet, NVIDIA plugin, our rule)", default="")
    name: str = doc("a name for reports (default: the file name)", default="")
    tags: list[str] = doc("labels; each becomes a pytest marker", default_factory=list)
    requires: Requires = doc("what the node must offer (checked with --nvml real)", default_factory=Requires)
    node: NodeSpec = doc("the simulated node", default_factory=NodeSpec)
    kubelet: KubeletSpec = doc("the fake kubelet", default_factory=KubeletSpec)
    plugin: PluginSpec = doc("the plugin under test", default_factory=PluginSpec)
    resource: str = doc(
        "the resource that pods, calls and conditions talk about unless they name one "
        "(default: the plugin profile's, e.g. nvidia.com/gpu)",
        default="",
    )
    within: Wait = doc(
        "default deadline of 'expect' steps that give neither within nor for", default=Wait(5.0)
    )
    timeout: Duration | None = doc(
        "the most wall-clock time the case's steps may take; past it the case fails with the step that "
        f"was running (default: {limits.CASE_SECONDS.default}s, "
        f"or {limits.CASE_SECONDS.env}=N for every case)",
        default=None,
    )
    never: list[ConditionSet] = doc(
        "conditions that must not hold at any time during the scenario", default_factory=list
    )
    include: Any = doc("fragment file(s) merged under this file (see 'Include and matrix')", default=None)
    matrix: Any = doc(
        "variables whose combinations make one case each (see 'Include and matrix')", default=None
    )
    # Filled in by the loader, not from YAML:
    path: str = field(default="", metadata={"yaml": False})
    case: str = field(default="", metadata={"yaml": False})
    values: dict[str, Any] = field(default_factory=dict, metadata={"yaml": False})
    wall_cap: WallCap = field(
        default=WallCap(limits.CASE_SECONDS.default, "the default"), metadata={"yaml": False}
    )
    loc: Loc = loc_field()

    @property
    def id(self) -> str:
        """``file-stem`` or ``file-stem[case]``: the name reports and pytest use."""
        stem = Path(self.path).stem if self.path else self.name
        return f"{stem}[{self.case}]" if self.case else stem

    @property
    def title(self) -> str:
        return self.name or self.id


def _steps(node: YNode, ctx: ParseCtx) -> list[StepCall]:
    if not node.is_seq or not node.value:
        raise ScenarioError(
            node.loc,
            f"'steps' cannot be {node.kind()}",
            expected="a non-empty list of steps (each a mapping with one action)",
        )
    return [StepCall.parse(item, ctx, i + 1) for i, item in enumerate(node.value)]


def parse_case(case: Case, path: str) -> Scenario:
    """Validate one composed case and build its Scenario."""
    tree = case.tree
    ctx = ParseCtx(Path(path).parent)
    node_tree = tree.get("node")
    spec = parse(NodeSpec, node_tree, ctx, "'node'") if node_tree is not None else NodeSpec()
    ctx.node = declared_node(spec)  # what aliases in the rest of the case are checked against
    ctx.wall_cap = _wall_cap(tree.get("timeout"), ctx)  # what every wait of the case must fit in
    steps_node = tree.get("steps")
    body = YNode({k: v for k, v in tree.value.items() if k != "steps"}, tree.loc, tree.key_locs)
    if steps_node is not None:
        body.value["steps"] = YNode([], steps_node.loc)  # parsed below, with per-step errors
    scenario: Scenario = parse_dataclass(Scenario, body, ctx, "the scenario")
    if (requires := body.get("requires")) is not None and requires.is_map:
        scenario.requires.validate(requires)
    if (plugin := body.get("plugin")) is not None and plugin.is_map:
        scenario.plugin.validate(plugin)
    if steps_node is not None:
        scenario.steps = _steps(steps_node, ctx)
    scenario.path = path
    scenario.case = case.id
    scenario.values = case.values
    scenario.wall_cap = ctx.wall_cap
    scenario.loc = tree.loc
    return scenario


def _wall_cap(node: YNode | None, ctx: ParseCtx) -> WallCap:
    """The file's ``timeout:``, else the default (raised by its environment variable)."""
    if node is not None:
        timeout = Duration.from_yaml(node, ctx)
        if timeout > 0:
            return WallCap(float(timeout), f"this file's 'timeout: {timeout}'")
        raise ScenarioError(node.loc, "'timeout' cannot be 0", expected="a duration such as 30s or 10m")
    cap = limits.CASE_SECONDS
    return WallCap(
        float(cap.value()), f"set 'timeout:' at the top of the file, or {cap.env}=N for every case"
    )


def load(path: str | Path) -> list[Scenario]:
    """All cases of one scenario file, validated; raises ScenarioError (readable, with file:line)."""
    p = str(path)
    with paused_gc():
        return [parse_case(case, p) for case in compose(p)]
