"""What a case needs of the node and of the plugin, and whether this run offers it.

Scenarios are written relative to the node (``gpu-1`` is the last GPU, ``{gpus}`` the node's
GPU count), so ``requires.gpus`` is a range of GPU counts the expectations hold for
(``1..``, ``2..4``), not the simulated node's size. :func:`unmet` is the one place that
decides whether a case can run: on the machine's GPUs (``--nvml real``), on a simulated node
of another size (``--node``), or under a plugin profile that does not claim a feature. Its
reasons are worded alike for alike causes, so a run can group its skips by reason.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from harness.errors import UNKNOWN, ScenarioError, did_you_mean
from harness.loader import YNode

_RANGE = re.compile(r"^\s*(\d+)\s*(?:(\.\.)\s*(\d+)?)?\s*$")


@dataclass(frozen=True)
class GpuRange:
    """GPU counts from ``low`` to ``high`` (None: no upper bound)."""

    low: int = 1
    high: int | None = None

    @classmethod
    def yaml_expected(cls) -> str:
        return "a GPU count range: 2 (at least 2), '2..' (the same), '1..4' or '4..4' (exactly 4)"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> GpuRange:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return cls(value, None)
        m = _RANGE.match(value) if isinstance(value, str) else None
        if m is None:
            raise ScenarioError(node.loc, f"'gpus' cannot be {node.kind()}", expected=cls.yaml_expected())
        low = int(m.group(1))
        high = int(m.group(3)) if m.group(3) is not None else None
        if high is not None and high < low:
            raise ScenarioError(node.loc, f"the range {value!r} is empty", expected=cls.yaml_expected())
        return cls(low, high)

    def __contains__(self, count: object) -> bool:
        return isinstance(count, int) and count >= self.low and (self.high is None or count <= self.high)

    def words(self) -> str:
        """The range in words, for skip reasons: '2 or more', '1 to 4', 'exactly 4'."""
        if self.high is None:
            return f"{self.low} or more"
        return f"exactly {self.low}" if self.low == self.high else f"{self.low} to {self.high}"

    def __str__(self) -> str:
        if self.high is None:
            return f"{self.low}.."
        return f"{self.low}..{self.high}"


@dataclass(frozen=True)
class NodeFacts:
    """What the node a case would run on offers."""

    gpus: int
    mig: bool = False
    nvlink: bool = False
    real: bool = False  # the machine's GPUs (faults are overlays; nothing simulation-only)


def probe(nvml: Any) -> NodeFacts:
    """The facts of a node reached through a pynvml-like object (pynvml itself, or a FakeNVML)."""
    nvml.nvmlInit()
    try:
        count = int(nvml.nvmlDeviceGetCount())
        mig = nvlink = False
        for i in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            with contextlib.suppress(Exception):
                mig = mig or nvml.nvmlDeviceGetMigMode(handle)[0] == nvml.NVML_DEVICE_MIG_ENABLE
            with contextlib.suppress(Exception):
                nvlink = nvlink or nvml.nvmlDeviceGetNvLinkState(handle, 0) == nvml.NVML_FEATURE_ENABLED
        return NodeFacts(count, mig, nvlink, real=True)
    finally:
        with contextlib.suppress(Exception):
            nvml.nvmlShutdown()


def spec_facts(spec: Any, seed: int = 0) -> NodeFacts | None:
    """The facts of a simulated node spec, probed as a real node is (None when it cannot be built)."""
    from fake_nvml import FakeNVML

    try:
        node = FakeNVML.from_spec(spec, seed=seed)
    except (ValueError, OSError):
        return None
    try:
        facts = probe(node)
    finally:
        node.close()
    return NodeFacts(facts.gpus, facts.mig, facts.nvlink, real=False)


def custom_node(scenario: Any) -> str:
    """Why the scenario's node is more than a GPU count ('' when a ``--node`` may replace it)."""
    spec = scenario.node
    if spec.mig:
        return "a MIG layout"
    if not isinstance(spec.spec, str):
        return "an inline node profile"
    if spec.spec.endswith((".yaml", ".yml")):
        return "a node-profile file"
    return ""


def missing_features(scenario: Any, profile: Any) -> str:
    """The skip reason when the profile lacks a feature the case needs ('' when none)."""
    return not_claimed(profile, list(scenario.requires.features))


def not_claimed(profile: Any, needs: list[str]) -> str:
    """'the plugin profile 'p' does not claim F' for the first missing feature, the others after
    '; also'; '' when it claims them all. Grouped by the first, skips read as a to-do list."""
    missing = profile.missing(needs)
    if not missing:
        return ""
    also = f"; also {', '.join(missing[1:])}" if len(missing) > 1 else ""
    return f"the plugin profile '{profile.name}' does not claim {missing[0]}{also}"


def unmet(scenario: Any, node: NodeFacts, profile: Any, *, plugin_process: bool = False) -> str:
    """Why this case cannot run on ``node`` under ``profile`` ('' when it can)."""
    need = scenario.requires
    if why := missing_features(scenario, profile):
        return why
    if node.real:
        if need.simulated:
            return "needs the simulated node (requires.simulated)"
        for call in scenario.steps:
            if getattr(call.step, "simulated_only", False):
                fault = call.step.fault
                return f"needs a fault only the simulated node can make ({getattr(fault, 'name', fault)})"
            if call.step.key == "inject" and plugin_process:
                return "injected faults cannot reach a plugin process that reads real NVML itself"
        if scenario.node.mig:
            return "sets a MIG layout, which real mode never changes"
    if node.gpus not in need.gpus:
        unit = "GPU" if need.gpus.low == need.gpus.high == 1 else "GPUs"
        return f"needs {need.gpus.words()} {unit}, the node has {node.gpus}"
    if need.mig and not node.mig:
        return "needs a GPU with MIG enabled (this harness never changes MIG settings)"
    if need.nvlink and not node.nvlink:
        return "needs NVLink between GPUs"
    return ""


def needs_simulation(scenario: Any) -> bool:
    """Whether the case needs a fault only the simulated node can make (the real-GPU count leaves it out)."""
    return bool(scenario.requires.simulated) or any(
        getattr(call.step, "simulated_only", False) for call in scenario.steps
    )


def check_features(names: list[str], node: YNode | None, key: str = "features") -> None:
    """Raise ScenarioError (at the item) for a feature name the table does not know."""
    from harness.features import FEATURES

    items = node.value if node is not None and node.is_seq else []
    for i, name in enumerate(names):
        if name not in FEATURES:
            where = items[i].loc if i < len(items) else node.loc if node is not None else UNKNOWN
            raise ScenarioError(
                where,
                f"unknown feature '{name}' in '{key}'",
                expected="a feature of docs/conformance.md, 'Features'",
                suggestion=did_you_mean(name, FEATURES) or f"features: {', '.join(FEATURES)}",
            )
