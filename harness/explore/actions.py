"""The actions explore draws: one table, each an ordinary scenario step and its effect on the model.

Every action is written as the step a scenario author would write (``inject: {gpu_lost:
gpu1}``), run through the same step code as ``harness run``, and recorded as is, so a
reproducer is the action list verbatim. The effect tells the model (:mod:`harness.explore.world`)
what changed. The machine (:mod:`harness.explore.machine`) has one rule per group of actions
and draws their arguments; ``docs/explore.md`` lists this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.explore.world import ContainerTruth, PodTruth, World

# Critical XIDs first (Hypothesis shrinks towards the front), then NVIDIA's ignored ones.
XIDS = (79, 48, 94, 95, 64, 74, 63, 119, 13, 31, 43, 45, 68, 109)
# NVML functions whose failure the health path meets (registration, the event wait, UUID lookups).
FAILING_CALLS = (
    "nvmlDeviceGetHandleByUUID",
    "nvmlDeviceRegisterEvents",
    "nvmlDeviceGetSupportedEventTypes",
    "nvmlEventSetWait",
    "nvmlDeviceGetUUID",
)
SLOW_CALLS = ("nvmlEventSetWait", "nvmlDeviceGetHandleByUUID", "nvmlDeviceGetTopologyCommonAncestor")
LATENCIES_MS = (5, 20, 50)
# 30 s (a retry), the kubelet's 5 min endpoint grace period, and past it.
JUMPS = ("30s", "5m", "6m")


@dataclass(frozen=True)
class Tick:
    """What the effect of an action may know besides its arguments."""

    seq: int  # log position when the action began
    fired: dict[str, int]  # injected call failures that fired so far, per function
    served: Callable[[int], bool]  # is this GPU served by a registered build right now?


Effect = Callable[[World, Tick, dict[str, Any]], None]


@dataclass(frozen=True)
class ActionKind:
    name: str
    group: str  # node, kubelet, plugin, pods, time
    doc: str
    step: Callable[..., dict[str, Any]]
    effect: Effect


def _inject(**fault: Any) -> dict[str, Any]:
    return {"inject": fault}


def _gpu(n: int) -> str:
    return f"gpu{n}"


def _admit_step(
    pod: str, resource: str, default_resource: str, apps: list[int], inits: list[tuple[int, bool]]
) -> dict[str, Any]:
    def container(name: str, gpus: int, sidecar: bool | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {"name": name}
        if resource == default_resource:
            c["gpus"] = gpus
        else:
            c["limits"] = {resource: gpus}
        if sidecar:
            c["restartable"] = True
        return c

    body: dict[str, Any] = {"pod": pod, "containers": [container(f"c{i}", n) for i, n in enumerate(apps)]}
    if inits:
        body["init_containers"] = [container(f"i{i}", n, side) for i, (n, side) in enumerate(inits)]
    return {"admit": body}


def _admitted(world: World, tick: Tick, a: dict[str, Any]) -> None:
    if not a.get("ids"):
        return
    containers = [ContainerTruth(f"c{i}", "app", n) for i, n in enumerate(a["apps"])]
    containers += [
        ContainerTruth(f"i{i}", "sidecar" if side else "init", n) for i, (n, side) in enumerate(a["inits"])
    ]
    for c in containers:
        c.ids = list(a["ids"].get(c.name, []))
    world.admitted(PodTruth(a["pod"], a["resource"], containers))


def _started(world: World, tick: Tick, a: dict[str, Any]) -> None:
    """A start or restart: a good one runs the container; a failed one leaves it stopped."""
    pod = world.pods.get(a["pod"])
    if pod is None:
        return
    container = pod.container(a["container"])
    container.running = bool(a.get("ok"))
    if a.get("ok"):
        container.started = True


def _nothing(world: World, tick: Tick, a: dict[str, Any]) -> None:
    return None


def _restart_plugin(world: World, tick: Tick, a: dict[str, Any]) -> None:
    world.plugin_stop()
    world.plugin_start(tick.seq, tick.fired)


def _kubelet_restart(world: World, tick: Tick, a: dict[str, Any]) -> None:
    world.kubelet_stop()
    world.kubelet_start(tick.seq, tick.fired)


def _xid(world: World, tick: Tick, a: dict[str, Any]) -> None:
    if tick.served(a["gpu"]):
        world.xid(a["gpu"], a["xid"])


ACTIONS: tuple[ActionKind, ...] = (
    ActionKind(
        "xid",
        "node",
        "an XID on a GPU, critical or one NVIDIA ignores (13, 31, 43, 45, 68, 109)",
        lambda gpu, xid: _inject(xid=xid, gpu=_gpu(gpu)),
        _xid,
    ),
    ActionKind(
        "ecc",
        "node",
        "a single- or double-bit ECC event (logged and skipped, as NVIDIA's v0.20 does)",
        lambda gpu, kind: _inject(ecc=kind, gpu=_gpu(gpu)),
        _nothing,
    ),
    ActionKind(
        "gpu_lost",
        "node",
        "a GPU falls off the bus (NVML answers GPU_IS_LOST)",
        lambda gpu: _inject(gpu_lost=_gpu(gpu)),
        lambda w, t, a: w.lose(a["gpu"]),
    ),
    ActionKind(
        "gpu_recover",
        "node",
        "a lost GPU answers again",
        lambda gpu: _inject(recover=_gpu(gpu)),
        lambda w, t, a: w.recover(a["gpu"]),
    ),
    ActionKind(
        "nvml_error",
        "node",
        "the next 1-2 calls of an NVML function on the health path fail with UNKNOWN",
        lambda function, count: _inject(nvml_error=function, error="UNKNOWN", count=count),
        lambda w, t, a: w.nvml_error(a["function"], a["count"], t.seq),
    ),
    ActionKind(
        "latency",
        "node",
        "an NVML function answers 5-50 ms late from now on",
        lambda function, ms: _inject(latency=function, seconds=f"{ms}ms"),
        lambda w, t, a: w.add_latency(a["function"], a["ms"] / 1000),
    ),
    ActionKind(
        "hide",
        "node",
        "a GPU disappears from NVML's device count (seen at the next rebuild)",
        lambda gpu: _inject(hide=_gpu(gpu)),
        lambda w, t, a: w.hide(a["gpu"]),
    ),
    ActionKind(
        "unhide",
        "node",
        "a hidden GPU returns",
        lambda gpu: _inject(unhide=_gpu(gpu)),
        lambda w, t, a: w.unhide(a["gpu"]),
    ),
    ActionKind(
        "kubelet_restart",
        "kubelet",
        "the kubelet restarts: sockets removed, checkpoint read, kubelet.sock created anew",
        lambda: {"kubelet": "restart"},
        _kubelet_restart,
    ),
    ActionKind(
        "kubelet_crash",
        "kubelet",
        "the kubelet dies without cleanup (a stale kubelet.sock stays)",
        lambda: {"kubelet": "crash"},
        lambda w, t, a: w.kubelet_stop(),
    ),
    ActionKind(
        "kubelet_start",
        "kubelet",
        "the crashed kubelet starts again",
        lambda: {"kubelet": "start"},
        lambda w, t, a: w.kubelet_start(t.seq, t.fired),
    ),
    ActionKind(
        "plugin_stop",
        "plugin",
        "the plugin stops gracefully (SIGTERM)",
        lambda: {"plugin": "stop"},
        lambda w, t, a: w.plugin_stop(),
    ),
    ActionKind(
        "plugin_kill",
        "plugin",
        "the plugin is killed (SIGKILL, no cleanup)",
        lambda: {"plugin": "kill"},
        lambda w, t, a: w.plugin_stop(),
    ),
    ActionKind(
        "plugin_start",
        "plugin",
        "the stopped plugin starts again",
        lambda: {"plugin": "start"},
        lambda w, t, a: w.plugin_start(t.seq, t.fired),
    ),
    ActionKind(
        "plugin_restart", "plugin", "the plugin restarts", lambda: {"plugin": "restart"}, _restart_plugin
    ),
    ActionKind(
        "plugin_sighup",
        "plugin",
        "SIGHUP: the plugin rebuilds from a fresh NVML enumeration",
        lambda: {"plugin": "sighup"},
        lambda w, t, a: w.plugin_sighup(t.seq, t.fired),
    ),
    ActionKind(
        "admit",
        "pods",
        "a pod is admitted: app containers, init containers and sidecars asking for 0-2 devices",
        _admit_step,
        _admitted,
    ),
    ActionKind(
        "start_container",
        "pods",
        "a container of an admitted pod starts",
        lambda pod, container: {"start_container": {"pod": pod, "container": container}},
        _started,
    ),
    ActionKind(
        "restart_container",
        "pods",
        "a started container restarts (the cached allocation is reused)",
        lambda pod, container: {"restart_container": {"pod": pod, "container": container}},
        _started,
    ),
    ActionKind(
        "delete",
        "pods",
        "a pod is deleted; its devices return to the pool",
        lambda pod: {"delete": pod},
        lambda w, t, a: w.deleted(a["pod"]),
    ),
    ActionKind(
        "advance",
        "time",
        "virtual time jumps 30 s, 5 min (the grace period) or 6 min",
        lambda by: {"advance": by},
        lambda w, t, a: w.advance({"30s": 30.0, "5m": 300.0, "6m": 360.0}[a["by"]]),
    ),
)

BY_NAME = {a.name: a for a in ACTIONS}
