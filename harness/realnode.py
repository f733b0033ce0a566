"""``--nvml real``: the machine's GPUs through pynvml, with injected XID/ECC events overlaid.

What a scenario needs (``requires:``) is compared with what the machine has by
:func:`harness.requires.unmet`; a scenario that needs more, or uses faults real GPUs cannot show
(lost GPUs, failing calls, init failures), is skipped with the reason. Nothing here changes GPU
settings: no MIG changes, no resets. Device aliases resolve against a recorded snapshot of the
machine (same UUIDs).
"""

from __future__ import annotations

import contextlib
import functools

from harness.context import Ctx, Skip
from harness.requires import NodeFacts, probe


@functools.cache
def machine_facts() -> NodeFacts:
    """What this machine's NVML offers (GPU count, MIG, NVLink); Skip when there is no usable NVML."""
    try:
        import pynvml

        return probe(pynvml)
    except Exception as exc:
        raise Skip(f"no usable NVML here: {type(exc).__name__}: {exc}") from None


def nvml_problem() -> str:
    """Why ``--nvml real`` cannot run here ('' when this machine's NVML answers).

    A run on real GPUs that finds no NVML (a pod without NVIDIA's runtime, a machine without the
    driver) must not pass by skipping everything, so the front ends stop on this before any case.
    """
    try:
        machine_facts()
    except Skip as exc:
        return str(exc)
    return ""


def real_node(ctx: Ctx, stack: contextlib.ExitStack, kind: str) -> None:
    import pynvml

    from fake_nvml import FakeNVML, OverlayNVML, record_node

    snapshot = FakeNVML.from_spec(record_node(pynvml))
    stack.callback(snapshot.close)
    overlay = OverlayNVML(pynvml, clock=ctx.clock, log=ctx.log)
    ctx.gpu_source = snapshot
    ctx.node = overlay
    ctx.nvml = overlay if kind == "inprocess" else pynvml
