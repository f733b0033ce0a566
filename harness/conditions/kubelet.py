"""Conditions on the kubelet's view: registration, devices and health, capacity, violations."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness import templating
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Condition, Verdict
from harness.model.declared import DeviceText
from harness.model.matcher import MISSING, Equals, ItemsMatcher, Matcher, NumberMatcher, TextMatcher
from harness.model.registry import condition
from harness.model.schema import ParseCtx, doc, one_field_shorthand, parse, wrap_as
from harness.model.text import Text

if TYPE_CHECKING:
    from harness.context import Ctx

HEALTH = ("Healthy", "Unhealthy")


def _count_matcher(node: YNode, ctx: ParseCtx) -> Matcher:
    if (isinstance(node.value, int) and not isinstance(node.value, bool)) or isinstance(node.value, str):
        m: Matcher = Equals(node.value)
        m.loc = node.loc
        return m
    return NumberMatcher.from_yaml(node, ctx)


@condition("registered")
@dataclass
class Registered(Condition):
    """The resource is registered with a live endpoint (or, with 'expected: false', is not)."""

    resource: str | None = doc("the resource (default: the scenario's)", default=None)
    endpoint: TextMatcher | None = doc(
        "the socket file name it registered, e.g. nvidia-gpu.sock", default=None
    )
    options: Matcher | None = doc(
        "its DevicePluginOptions, e.g. {get_preferred_allocation_available: true}", default=None
    )
    expected: bool = doc("false: the resource is not registered, or its endpoint has stopped", default=True)

    @classmethod
    def shorthand(cls, node: YNode, ctx: ParseCtx) -> YNode:
        if isinstance(node.value, bool):
            return wrap_as(node, "expected", node)
        return wrap_as(node, "resource", node)

    @classmethod
    def shorthand_expected(cls) -> str:
        return "true, false or a resource name"

    def describe(self) -> str:
        if not self.expected:
            return f"{self.resource or 'the resource'} not registered"
        parts = [self.resource or ""]
        if self.endpoint:
            parts.append(f"endpoint {self.endpoint.describe()}")
        if self.options:
            parts.append(f"options {self.options.describe()}")
        return " ".join(p for p in parts if p)

    def evaluate(self, ctx: Ctx) -> Verdict:
        name = self.resource or ctx.scenario.resource
        state = ctx.resource_state(name)
        endpoint = state.endpoint if state is not None else None
        removed = bool(getattr(state, "removed", False))
        if endpoint is None or endpoint.stopped or removed:
            why = (
                "unknown to the kubelet"
                if state is None
                else ("removed after the grace period" if removed else "its endpoint is stopped")
            )
            return Verdict(not self.expected, f"{name} not registered ({why})")
        observed = f"{name} registered via {endpoint.endpoint} with options {endpoint.options}"
        if not self.expected:
            return Verdict(False, observed)
        for label, matcher, value in (
            ("endpoint", self.endpoint, endpoint.endpoint),
            ("options", self.options, endpoint.options or {}),
        ):
            if matcher is not None and (problem := matcher.match(value, ctx)):
                return Verdict(False, f"{observed} ({label}: {problem})")
        return Verdict(True, observed)


def _device_set(ctx: Ctx, state: Any, key: str) -> list[Any]:
    """The devices a health/numa key names: an exact ID, or every replica ``ID::n`` of it; a GPU
    alias of a MIG-enabled GPU names its MIG devices (so ``never: {health: {gpu1: Unhealthy}}``
    watches them instead of silently watching nothing)."""
    wanted = ctx.device_id(key)
    exact = [d for d in state.devices if d.id == wanted]
    replicas = [d for d in state.devices if d.id.startswith(wanted + "::")]
    if exact or replicas:
        return exact or replicas
    migs = ctx.mig_ids(key)
    return [d for d in state.devices if d.id.split("::")[0] in migs]


@condition("devices")
@dataclass
class Devices(Condition):
    """The device list the kubelet holds for a resource: how many, which IDs, which NUMA nodes."""

    resource: str | None = doc("the resource (default: the scenario's)", default=None)
    count: NumberMatcher | None = doc("number of devices (healthy or not)", default=None)
    ids: ItemsMatcher | None = doc("the device IDs, e.g. {set: ['{gpu0}', '{gpu1}']}", default=None)
    numa: dict[Text, Matcher] = doc(
        "device reference → its NUMA node list, e.g. {gpu0: [0]}", default_factory=dict
    )

    shorthand, shorthand_expected = one_field_shorthand("count", "a device count")

    def describe(self) -> str:
        parts = []
        if self.count is not None:
            parts.append(f"count {self.count.describe()}")
        if self.ids is not None:
            parts.append(f"ids {self.ids.describe()}")
        parts.extend(f"{k} numa {m.describe()}" for k, m in self.numa.items())
        return ", ".join(parts) or "listed"

    def evaluate(self, ctx: Ctx) -> Verdict:
        name = self.resource or ctx.scenario.resource
        state = ctx.resource_state(name)
        devices = list(state.devices) if state is not None else []
        ids = [d.id for d in devices]
        observed = f"{name} lists {len(ids)} devices {ids}"
        if self.count is not None and (why := self.count.match(len(ids), ctx)):
            return Verdict(False, f"{observed} ({why})")
        if self.ids is not None and (why := self.ids.match(ids, ctx)):
            return Verdict(False, f"{observed} ({why})")
        for key, matcher in self.numa.items():
            chosen = _device_set(ctx, state, key) if state is not None else []
            if not chosen:
                return Verdict(False, f"{observed}; no device {key} ({ctx.device_id(key)})")
            for device in chosen:
                if why := matcher.match(list(device.numa), ctx):
                    return Verdict(False, f"{device.id} numa {list(device.numa)} ({why})")
        return Verdict(True, observed)


@condition("health")
@dataclass
class Health(Condition):
    """Per-device health as the kubelet sees it: ``{gpu2: Unhealthy, others: Healthy}``.

    A key is a device reference (alias, template or ID); a GPU alias also names all its
    replicas (``UUID::n``) and, on a MIG-enabled GPU, its MIG devices. ``others`` covers every
    device not named; ``all`` every device. Neither holds on an empty device list.
    """

    expected: dict[str, str]
    resource: str | None = None

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Health:
        if not node.is_map:
            raise ScenarioError(
                node.loc,
                f"'health' cannot be {node.kind()}",
                expected="a mapping of device references to Healthy/Unhealthy, e.g. {gpu2: Unhealthy}",
            )
        expected: dict[str, str] = {}
        resource = None
        for key, value in node.value.items():
            if key == "resource":
                resource = parse(str, value, ctx, "'resource'")
                continue
            DeviceText.from_yaml(YNode(key, node.key_loc(key)), ctx)
            expected[key] = parse(Literal["Healthy", "Unhealthy"], value, ctx, f"the health of '{key}'")
        cond = cls(expected, resource)
        cond.loc = node.loc
        return cond

    @classmethod
    def yaml_expected(cls) -> str:
        return "a mapping of device references (or 'others', 'all') to Healthy/Unhealthy"

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.expected.items())

    def wanted_health(self, ctx: Ctx) -> dict[str, str]:
        """The devices named, as listed now, with the health wanted of each."""
        state = ctx.resource_state(self.resource or ctx.scenario.resource)
        if state is None:
            return {}
        wanted: dict[str, str] = {}
        for key, want in self.expected.items():
            if key not in ("others", "all"):
                wanted.update((d.id, want) for d in _device_set(ctx, state, key))
        for key in ("others", "all"):
            if key in self.expected:
                for device in state.devices:
                    if key == "all" or device.id not in wanted:
                        wanted[device.id] = self.expected[key]
        return wanted

    def evaluate(self, ctx: Ctx) -> Verdict:
        name = self.resource or ctx.scenario.resource
        state = ctx.resource_state(name)
        if state is None:
            return Verdict(False, f"{name} has no devices (never registered)")
        named: set[str] = set()
        problems = []
        for key, want in self.expected.items():
            if key in ("others", "all"):
                continue
            chosen = _device_set(ctx, state, key)
            if not chosen:
                problems.append(f"{key} ({ctx.device_id(key)}) is not listed")
            for device in chosen:
                named.add(device.id)
                if device.health != want:
                    problems.append(f"{key} ({device.id}) is {device.health}")
        for key in ("others", "all"):
            if key in self.expected:
                if not state.devices:
                    # Vacuous truth would let `all: Healthy` pass before any device arrived.
                    problems.append(f"'{key}' names no device: {name} lists none")
                for device in state.devices:
                    if (key == "all" or device.id not in named) and device.health != self.expected[key]:
                        problems.append(f"{device.id} is {device.health}")
        summary = f"{len(state.healthy)}/{len(state.devices)} healthy"
        if problems:
            return Verdict(
                False, "; ".join(problems[:6]) + (" ..." if len(problems) > 6 else "") + f" ({summary})"
            )
        return Verdict(True, summary)


ABSENT = "absent"


class _Quantity(Condition):
    """capacity/allocatable: a number (or matcher) for the scenario's resource, or a mapping per resource.

    A number or matcher holds only for a resource the node status has (present, possibly at 0);
    ``absent`` holds only for one it does not have at all (never reported, as ``kubectl`` shows it).
    """

    field_name = ""
    expected: dict[str | None, Matcher | None]  # None: must be absent

    def __init__(self, expected: dict[str | None, Matcher | None]) -> None:
        self.expected = expected

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Condition:
        def one(value: YNode) -> Matcher | None:
            return None if value.value == ABSENT else _count_matcher(value, ctx)

        per_resource = node.is_map and all("/" in k for k in node.value)
        expected: dict[str | None, Matcher | None]
        if per_resource:
            expected = {k: one(v) for k, v in node.value.items()}
        elif (
            (isinstance(node.value, int) and not isinstance(node.value, bool))
            or node.is_map
            or node.value == ABSENT
        ):
            expected = {None: one(node)}
        elif isinstance(node.value, str) and templating.has_template(node.value):
            expected = {None: Matcher.from_yaml(node, ctx)}
        else:
            raise ScenarioError(
                node.loc, f"'{cls.key}' cannot be {node.kind()}", expected=cls.yaml_expected()
            )
        cond = cls(expected)
        cond.loc = node.loc
        return cond

    @classmethod
    def yaml_expected(cls) -> str:
        return (
            "a number, a count template such as '{gpus}', a matcher such as {ge: 1}, 'absent', "
            "or a mapping of resource names to those"
        )

    def describe(self) -> str:
        return ", ".join(
            f"{k + ' ' if k else ''}{m.describe() if m is not None else ABSENT}"
            for k, m in self.expected.items()
        )

    def evaluate(self, ctx: Ctx) -> Verdict:
        observed = []
        ok = True
        for resource, matcher in self.expected.items():
            name = resource or ctx.scenario.resource
            state = ctx.resource_state(name)
            present = state is not None and ctx.kubelet.on_node(name)
            value = getattr(state, self.field_name) if present else MISSING
            observed.append(f"{name} {self.key} {value if present else 'absent from node status'}")
            if matcher is None:
                ok = ok and not present
            elif not present or matcher.match(value, ctx) is not None:
                ok = False
        return Verdict(ok, ", ".join(observed))


@condition("capacity")
class Capacity(_Quantity):
    """Node capacity of a resource as the kubelet reports it (healthy + unhealthy devices)."""

    field_name = "capacity"


@condition("allocatable")
class Allocatable(_Quantity):
    """Node allocatable of a resource as the kubelet reports it (healthy devices)."""

    field_name = "allocatable"


@condition("violations")
@dataclass
class Violations(Condition):
    """Contract violations the fake kubelet recorded (stricter than the kubelet): ``violations: none``."""

    rule: TextMatcher | None = doc(
        "only violations whose rule matches (e.g. preferred_wrong_size)", default=None
    )
    count: NumberMatcher | None = doc("how many (default: none at all)", default=None)

    @classmethod
    def shorthand(cls, node: YNode, ctx: ParseCtx) -> YNode:
        if node.value in ("none", 0):
            return YNode({}, node.loc)
        raise ScenarioError(
            node.loc, f"'violations' cannot be {node.kind()}", expected=cls.shorthand_expected()
        )

    @classmethod
    def shorthand_expected(cls) -> str:
        return "'none' or a mapping with rule/count"

    def describe(self) -> str:
        if self.rule is None and self.count is None:
            return "none"
        return (
            f"rule {self.rule.describe()} " if self.rule else ""
        ) + f"count {self.count.describe() if self.count else '≥ 1'}"

    def evaluate(self, ctx: Ctx) -> Verdict:
        found = list(getattr(ctx.kubelet, "violations", []) or [])
        if self.rule is not None:
            found = [v for v in found if self.rule.match(v.rule, ctx) is None]
        shown = "; ".join(f"{v.rule} ({v.resource}): {v.detail}" for v in found[:5]) or "no violations"
        if self.count is None:
            ok = not found if self.rule is None else bool(found)
        else:
            ok = self.count.match(len(found), ctx) is None
        return Verdict(ok, shown)
