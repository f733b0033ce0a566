"""Faults injected into the node: XIDs, ECC errors, lost GPUs, NVML call errors and latency, ...

One step type with one fault key per step (``inject: {xid: 79, gpu: gpu2}``), so a scenario
reads like the fault it causes. The keys, their modifiers, the docs, whether real hardware can
show a fault and the dispatch all come from the node's fault catalogue
(``fake_nvml/injections.py``); this module only says how YAML values become the catalogue's
arguments (templates, GPU aliases, durations).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, Literal

from fake_nvml.injections import FAULTS, Fault, Param
from harness.context import StepFailed
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Step
from harness.model.declared import GpuText
from harness.model.duration import Duration
from harness.model.numbers import Natural, Xid
from harness.model.registry import step
from harness.model.schema import doc
from harness.model.text import Text
from harness.templating import parse_device

if TYPE_CHECKING:
    from harness.context import Ctx

BY_KEY: dict[str, Fault] = {f.name: f for f in FAULTS}
ALL_GPUS = "all"  # gpu: all - one fault on every GPU of the node (XIDs, ECC errors)


def _yaml_type(param: Param) -> Any:
    if param.kind == "int":
        return Xid if param.name == "xid" else Natural  # ranges said once, in the schema
    if param.kind == "choice":
        return Literal[param.choices]
    if param.kind == "seconds":
        return Duration
    if param.kind == "profiles":
        return list[str]
    if param.kind == "gpu":
        return GpuText  # checked against the declared node when the scenario loads
    return Text  # function and error names: templated text


def _yaml_default(param: Param) -> Any:
    if param.required:
        return None
    if param.kind == "seconds":
        return Duration(float(param.default))
    if isinstance(param.default, str):
        return Text(param.default)
    return param.default


def _fields() -> list[tuple[str, Any, Any]]:
    """The step's keys: one per fault (its own value), then each modifier once."""
    out: list[tuple[str, Any, Any]] = []
    for fault in FAULTS:
        out.append((fault.name, typing.Optional[_yaml_type(fault.value)], doc(fault.summary, default=None)))  # noqa: UP045
    seen: dict[str, Param] = {}
    for fault in FAULTS:
        for param in fault.modifiers:
            if param.name in seen:
                continue
            seen[param.name] = param
            tp = _yaml_type(param)
            typ = typing.Optional[tp] if param.required or param.default is None else tp  # noqa: UP045
            out.append((param.name, typ, doc(param.help, default=_yaml_default(param))))
    return out


class _Inject(Step):
    """Inject one fault into the node (one fault key per step, with its modifiers)."""

    @property
    def fault(self) -> Fault:
        return next(f for f in FAULTS if getattr(self, f.name) is not None)

    @property
    def simulated_only(self) -> bool:
        return not self.fault.real

    def validate(self, node: YNode) -> None:
        given = [k for k in BY_KEY if k in node.value]
        if len(given) != 1:
            raise ScenarioError(
                node.loc,
                f"'inject' needs exactly one fault, got {len(given)}"
                + (f" ({', '.join(given)})" if given else ""),
                expected=f"one of {', '.join(BY_KEY)}",
                suggestion="use one step per fault",
            )
        fault = BY_KEY[given[0]]
        allowed = [p.name for p in fault.modifiers]
        for key in node.value:
            if key != fault.name and key not in allowed:
                raise ScenarioError(
                    node.key_loc(key),
                    f"'{key}' does not apply to '{fault.name}'",
                    expected=f"{fault.name} with {', '.join(allowed) or 'no other key'}",
                )
        for param in fault.modifiers:
            if param.required and param.name not in node.value:
                raise ScenarioError(
                    node.loc,
                    f"'{fault.name}' needs '{param.name}' ({param.help})",
                    expected=f"{param.name}: ..."
                    + (" (gpu0, an index or a UUID)" if param.kind == "gpu" else ""),
                )

    def _args(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in self.fault.params}

    def describe(self) -> str:
        return self.fault.title(self._args())

    def run(self, ctx: Ctx) -> None:
        fault = self.fault
        every = [p.name for p in fault.params if p.kind == "gpu" and str(getattr(self, p.name)) == ALL_GPUS]
        try:
            if every:  # gpu: all - the fault once on each GPU of the node
                for index in range(ctx.devices.count()):
                    fault.apply(ctx.node, {**self._resolve(ctx, fault, skip=every[0]), every[0]: index})
                return
            fault.apply(ctx.node, self._resolve(ctx, fault))
        except (ValueError, LookupError) as exc:
            raise StepFailed(f"the node refused the fault: {exc}") from None

    def _resolve(self, ctx: Ctx, fault: Fault, skip: str = "") -> dict[str, Any]:
        """The scenario's values as the catalogue's arguments (GPU aliases resolved on the node)."""
        args: dict[str, Any] = {}
        takes_instance = {"gi", "ci"} <= {p.name for p in fault.params}
        for param in fault.params:
            value = getattr(self, param.name)
            if value is None or param.name == skip:
                continue
            if param.kind == "gpu":
                rendered = ctx.t(str(value))
                ref = parse_device(rendered)
                if takes_instance and ref is not None and ref.mig is not None:  # gpuN/migM scopes it
                    gpu, mig = ctx.devices.mig(ref)
                    args[param.name] = int(gpu.index)
                    args.setdefault("gi", mig.gi)
                    args.setdefault("ci", mig.ci)
                    continue
                value = ctx.gpu_index(rendered)
            elif param.kind in ("function", "error"):
                value = ctx.t(str(value))
                value = int(value) if param.kind == "error" and value.isdigit() else value
            elif param.kind == "seconds":
                value = float(value)
            args[param.name] = value
        return args


Inject = step("inject")(
    dataclasses.make_dataclass(
        "Inject", _fields(), bases=(_Inject,), namespace={"__doc__": _Inject.__doc__, "__module__": __name__}
    )
)
