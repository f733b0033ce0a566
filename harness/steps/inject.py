"""Faults injected into the node: XIDs, ECC errors, lost GPUs, NVML call errors and latency, ...

One step type with one fault key per step (``inject: {xid: 79, gpu: gpu2}``), so a scenario
reads like the fault it causes. Which faults need the simulated node (and so are skipped on
real hardware) is said here, next to the faults themselves.
"""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

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

# fault key → the modifier keys it takes
FAULTS: dict[str, tuple[str, ...]] = {
    "xid": ("gpu", "gi", "ci"),
    "ecc": ("gpu",),
    "gpu_lost": (),
    "recover": (),
    "nvml_error": ("error", "count"),
    "latency": ("seconds",),
    "hide": (),
    "unhide": (),
    "events_unsupported": (),
    "init_failure": (),
}
# Faults that real hardware can show through the overlay (injected events merged into waits).
OVERLAY_FAULTS = ("xid", "ecc")


@step("inject")
@dataclass
class Inject(Step):
    """Inject one fault into the node (one fault key per step, with its modifiers)."""

    xid: Xid | None = doc(
        "an XID critical error on 'gpu' (optionally scoped to a MIG 'gi'/'ci')", default=None
    )
    ecc: Literal["single", "double"] | None = doc(
        "an ECC error event (single- or double-bit) on 'gpu'", default=None
    )
    gpu_lost: GpuText | None = doc("the GPU falls off the bus (NVML answers GPU_IS_LOST)", default=None)
    recover: GpuText | None = doc("the GPU comes back (undoes gpu_lost)", default=None)
    nvml_error: Text | None = doc(
        "an NVML function (e.g. nvmlEventSetWait) fails with 'error', 'count' times", default=None
    )
    latency: Text | None = doc("an NVML function answers 'seconds' late", default=None)
    hide: GpuText | None = doc("the GPU disappears from the device count", default=None)
    unhide: GpuText | None = doc("a hidden GPU returns", default=None)
    events_unsupported: GpuText | None = doc("RegisterEvents raises NotSupported for the GPU", default=None)
    init_failure: Literal["library_not_found", "driver_not_loaded", "none"] | None = doc(
        "nvmlInit fails from now on ('none' clears it)", default=None
    )
    gpu: GpuText | None = doc(
        "the GPU (alias gpuN, index or UUID; gpuN/migM scopes an XID to that MIG device)", default=None
    )
    gi: Natural | None = doc("GPU instance id of an XID (overrides the one from gpuN/migM)", default=None)
    ci: Natural | None = doc("compute instance id of an XID", default=None)
    error: Text = doc(
        "NVML error for nvml_error: a name such as GPU_IS_LOST, UNKNOWN, TIMEOUT, or a code",
        default=Text("UNKNOWN"),
    )
    count: Natural = doc("how many calls fail (nvml_error); 0: every call from now on", default=1)
    seconds: Duration = doc("added latency", default=Duration(1.0))

    @property
    def fault(self) -> str:
        return next(k for k in FAULTS if getattr(self, k) is not None)

    def validate(self, node: YNode) -> None:
        given = [k for k in FAULTS if k in node.value]
        if len(given) != 1:
            raise ScenarioError(
                node.loc,
                f"'inject' needs exactly one fault, got {len(given)}"
                + (f" ({', '.join(given)})" if given else ""),
                expected=f"one of {', '.join(FAULTS)}",
                suggestion="use one step per fault",
            )
        fault = given[0]
        allowed = FAULTS[fault]
        for key in node.value:
            if key != fault and key not in allowed:
                raise ScenarioError(
                    node.key_loc(key),
                    f"'{key}' does not apply to '{fault}'",
                    expected=f"{fault} with {', '.join(allowed) or 'no other key'}",
                )
        if fault in ("xid", "ecc") and self.gpu is None:
            raise ScenarioError(
                node.loc,
                f"'{fault}' needs 'gpu' (which GPU it happens on)",
                expected="gpu: gpu0 (an alias), an index or a UUID",
            )

    @property
    def simulated_only(self) -> bool:
        return self.fault not in OVERLAY_FAULTS

    def describe(self) -> str:
        fault = self.fault
        if fault == "xid":
            return f"XID {self.xid} on {self.gpu}" + (
                f" (gi {self.gi}, ci {self.ci})" if self.gi is not None else ""
            )
        if fault == "ecc":
            return f"{self.ecc}-bit ECC error on {self.gpu}"
        if fault == "nvml_error":
            return f"{self.nvml_error} fails with {self.error}" + (
                f" {self.count}x" if self.count else " always"
            )
        if fault == "latency":
            return f"{self.latency} answers {self.seconds} late"
        return f"{fault.replace('_', ' ')} {getattr(self, fault)}"

    def run(self, ctx: Ctx) -> None:
        node = ctx.node
        fault = self.fault
        try:
            if fault == "xid":
                gpu, gi, ci = self._xid_target(ctx)
                node.inject_xid(gpu, self.xid, gi=gi, ci=ci)
            elif fault == "ecc":
                node.inject_ecc(ctx.gpu_index(self.gpu), double_bit=self.ecc == "double")
            elif fault == "gpu_lost":
                node.lose_gpu(ctx.gpu_index(self.gpu_lost))
            elif fault == "recover":
                node.recover_gpu(ctx.gpu_index(self.recover))
            elif fault == "nvml_error":
                error: int | str = int(self.error) if str(self.error).isdigit() else str(self.error)
                node.fail_calls(ctx.t(self.nvml_error), error=error, count=self.count or None)
            elif fault == "latency":
                node.add_latency(ctx.t(self.latency), float(self.seconds))
            elif fault == "hide":
                node.hide_gpu(ctx.gpu_index(self.hide))
            elif fault == "unhide":
                node.unhide_gpu(ctx.gpu_index(self.unhide))
            elif fault == "events_unsupported":
                node.unsupported_events(ctx.gpu_index(self.events_unsupported))
            elif fault == "init_failure":
                node.fail_init(None if self.init_failure == "none" else self.init_failure)
        except (ValueError, LookupError) as exc:
            raise StepFailed(f"the node refused the fault: {exc}") from None

    def _xid_target(self, ctx: Ctx) -> tuple[int, int | None, int | None]:
        rendered = ctx.t(str(self.gpu))
        ref = parse_device(rendered)
        gi, ci = self.gi, self.ci
        if ref is not None and ref.mig is not None:
            gpu, mig = ctx.devices.mig(ref)
            return int(gpu.index), mig.gi if gi is None else gi, mig.ci if ci is None else ci
        return ctx.gpu_index(rendered), gi, ci
