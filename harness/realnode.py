"""``--nvml real``: the machine's GPUs through pynvml, with injected XID/ECC events overlaid.

What a scenario needs (``requires:``) is compared with what the machine has; a scenario that
needs more, or uses faults real GPUs cannot show (lost GPUs, failing calls, init failures),
is skipped with the reason. Nothing here changes GPU settings: no MIG changes, no resets.
Device aliases resolve against a recorded snapshot of the machine (same UUIDs).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from harness.context import Ctx, Skip


@functools.cache
def machine() -> dict[str, Any]:
    """What this machine's NVML offers: GPU count, MIG, NVLink (or the reason there is no NVML)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:
        return {"error": f"no usable NVML here: {type(exc).__name__}: {exc}"}
    try:
        count = pynvml.nvmlDeviceGetCount()
        mig = nvlink = False
        for i in range(count):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            with contextlib.suppress(pynvml.NVMLError):
                mig = mig or pynvml.nvmlDeviceGetMigMode(handle)[0] == pynvml.NVML_DEVICE_MIG_ENABLE
            with contextlib.suppress(pynvml.NVMLError):
                nvlink = nvlink or pynvml.nvmlDeviceGetNvLinkState(handle, 0) == pynvml.NVML_FEATURE_ENABLED
        return {"gpus": count, "mig": mig, "nvlink": nvlink}
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def simulated_gpu_count(scenario: Any) -> int | None:
    """How many GPUs the scenario's simulated node has (None when it cannot be built here)."""
    from fake_nvml import FakeNVML

    try:
        node = FakeNVML.from_spec(scenario.node.source(), seed=scenario.node.seed)
    except (ValueError, OSError):
        return None
    try:
        return len(node.gpus)
    finally:
        node.close()


def check_requirements(scenario: Any, options: Any) -> None:
    """Raise Skip (with the reason) when this machine cannot run the scenario for real."""
    have = machine()
    if "error" in have:
        raise Skip(have["error"])
    need = scenario.requires
    if need.simulated:
        raise Skip("the scenario needs the simulated node (requires.simulated)")
    if have["gpus"] < need.gpus:
        raise Skip(f"needs {need.gpus} GPUs, this machine has {have['gpus']}")
    if need.mig and not have["mig"]:
        raise Skip("needs a GPU with MIG enabled (this harness never changes MIG settings)")
    if need.nvlink and not have["nvlink"]:
        raise Skip("needs NVLink between GPUs")
    if scenario.node.mig:
        raise Skip("the scenario sets a MIG layout, which real mode never changes")
    for call in scenario.steps:
        if getattr(call.step, "simulated_only", False):
            raise Skip(
                f"{call.title()} ({call.loc}) needs the simulated node: real GPUs cannot show that fault"
            )
        if call.step.key == "inject" and (options.plugin_cmd or scenario.plugin.command):
            raise Skip("injected faults cannot reach a plugin process that reads real NVML itself")
    written_for = simulated_gpu_count(scenario)
    if not need.any_gpu_count and written_for is not None and have["gpus"] != written_for:
        raise Skip(
            f"its counts are written for the simulated node's {written_for} GPUs, this machine has "
            f"{have['gpus']} (requires.any_gpu_count: true marks count-agnostic scenarios)"
        )


def real_node(ctx: Ctx, stack: contextlib.ExitStack, kind: str) -> None:
    import pynvml

    from fake_nvml import FakeNVML, OverlayNVML, record_node

    snapshot = FakeNVML.from_spec(record_node(pynvml))
    stack.callback(snapshot.close)
    overlay = OverlayNVML(pynvml, clock=ctx.clock, log=ctx.log)
    ctx.gpu_source = snapshot
    ctx.node = overlay
    ctx.nvml = overlay if kind == "inprocess" else pynvml
