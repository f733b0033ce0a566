"""The timeline of a scenario case, drawn from its events: the one model every picture is made of.

Rows are the devices the kubelet was told about (named by alias where the node knows them:
``gpu2``, ``gpu0::1``, ``gpu0/mig1``), each a list of spans of the kubelet's view with the
reason in words: Healthy or Unhealthy as the plugin reported it (after which fault), *no
plugin* while the kubelet has no connection to it (its stream ended, or the kubelet itself is
down or restarting: the kubelet then counts the devices unhealthy, which is not the same as a
GPU failing), or gone (no longer listed). Marks are injected faults, kubelet and plugin
lifecycle, registrations and pods; windows are the steps (an expectation's window runs from
its start to its end); bands are the times the kubelet was down. Virtual-time jumps
(``advance``) are cut out and drawn as breaks. A failed case has a ``focus``: the window
around the step that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.reports.timemap import Cut, TimeMap, cuts
from harness.result import Result, StepResult

HEALTHY, UNHEALTHY, NO_PLUGIN, GONE = "Healthy", "Unhealthy", "no plugin", "gone"
STATES = (HEALTHY, UNHEALTHY, NO_PLUGIN, GONE)
LANES = ("steps", "fault", "kubelet", "plugin", "registration", "pods", "calls")


@dataclass
class Span:
    """One stretch of a device's health in the kubelet's view (display times), and why."""

    start: float
    end: float
    state: str
    reason: str
    since: float = 0.0  # scenario time at the start (what the text says)
    short: str = ""  # a few words of the reason, for inside the picture


@dataclass
class Row:
    device: str
    label: str
    spans: list[Span] = field(default_factory=list)


@dataclass
class Mark:
    t: float  # display time
    lane: str
    label: str
    at: float = 0.0  # scenario time
    detail: str = ""


@dataclass
class Window:
    """A step: an expectation's window, or the moment of an action."""

    start: float
    end: float
    index: int
    key: str
    title: str
    status: str
    at: float = 0.0


@dataclass
class Wanted:
    """What the failed expectation wanted of one device over its window (drawn over the row)."""

    device: str
    label: str
    state: str
    start: float
    end: float
    step: int


@dataclass
class Band:
    start: float
    end: float
    label: str


@dataclass
class Timeline:
    end: float
    rows: list[Row]
    marks: list[Mark]
    breaks: list[tuple[float, Cut]] = field(default_factory=list)  # (display time, what was cut)
    windows: list[Window] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    focus: tuple[float, float] | None = None  # display window around the failure
    wanted: list[Wanted] = field(default_factory=list)  # the failed expectation's health, per device
    times: TimeMap = field(default_factory=lambda: TimeMap([]))

    def scenario_time(self, display: float) -> float:
        """The scenario clock time shown at a display time (the cuts put back)."""
        return self.times.scenario(display)


def _aliases(gpus: list[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for gpu in gpus:
        names[gpu["uuid"]] = gpu["alias"]
        for i, mig in enumerate(gpu.get("mig", [])):
            names[mig] = f"{gpu['alias']}/mig{i}"
    return names


def label_of(device: str, names: dict[str, str]) -> str:
    base, sep, replica = device.partition("::")
    alias = names.get(base)
    if alias is None:
        return device if len(device) <= 24 else device[:21] + "..."
    return f"{alias}::{replica}" if sep else alias


def _fault_label(kind: str, data: dict[str, Any]) -> str:
    target = f" gpu{data['gpu']}" if isinstance(data.get("gpu"), int) else ""
    detail = f" {data['xid']}" if kind == "xid" else ""
    if kind == "fail_calls":
        return f"{data.get('function', '')} fails"
    if kind == "latency":
        return f"{data.get('function', '')} +{data.get('seconds', 0):g}s"
    if kind == "refused":  # real NVML: a call that would change the GPU, kept from it
        return f"{data.get('function', '')} refused"
    # On real GPUs an injected fault is an overlay on real NVML: say so, it never happened to the GPU.
    simulated = " (simulated)" if data.get("overlay") else ""
    return f"{kind.replace('_', ' ')}{detail}{target}{simulated}"


NVML_EVENTS = "NVML events registered"


def _mark(event: dict[str, Any], names: dict[str, str], restarting: bool) -> Mark | None:
    source, kind, data = event["source"], event["kind"], event.get("data", {})
    if source == "node" and kind == "events_registered":
        # The plugin subscribing to a GPU's XID events (its health checks start): the plugin's doing.
        gpu = f"gpu{data['gpu']}" if isinstance(data.get("gpu"), int) else str(data.get("uuid", ""))
        return Mark(0, "plugin", f"{NVML_EVENTS} {gpu}", detail=gpu)
    if source == "node" and kind not in ("serving",):
        return Mark(0, "fault", _fault_label(kind, data))
    if source == "kubelet":
        if kind == "stop" and data.get("reason") == "restart":
            return None  # drawn as one "kubelet restart"
        if kind == "start" and restarting:
            return None
        if kind in ("start", "stop", "crash", "restart"):
            return Mark(0, "kubelet", f"kubelet {kind}")
        if kind == "stream_end":
            return Mark(0, "kubelet", "stream ended", detail=str(data.get("reason", "")))
        if kind == "endpoint_removed":
            return Mark(0, "kubelet", "endpoint removed")
        if kind == "violation":
            return Mark(0, "kubelet", f"violation {data.get('rule', '')}", detail=str(data.get("detail", "")))
        if kind == "register":
            ok = data.get("accepted", True)
            return Mark(0, "registration", "registered" if ok else "register rejected", detail=str(data))
        if kind == "admit":
            what = "admitted" if data.get("admitted") else "rejected"
            return Mark(0, "pods", f"{data.get('pod', '')} {what}", detail=str(data.get("message", "")))
        if kind == "allocate":
            devices = ",".join(label_of(d, names) for d in data.get("devices", []) or [])
            return Mark(
                0, "pods", f"allocate {devices}".strip(), detail=f"{data.get('pod')}/{data.get('container')}"
            )
    if source == "harness" and kind == "rpc":  # the scenario calling the plugin directly (call:)
        return _call_mark(data, names)
    if source == "plugin" and kind in ("start", "exit"):
        return Mark(0, "plugin", f"plugin {kind}" + (f" {data.get('code')}" if kind == "exit" else ""))
    return None


def _call_mark(data: dict[str, Any], names: dict[str, str]) -> Mark:
    """A direct call, labelled with what came back: the error, or the devices an Allocate named."""
    rpc = str(data.get("rpc", "call"))
    if data.get("error"):
        return Mark(0, "calls", f"{rpc} failed", detail=str(data["error"])[:300])
    answer = data.get("answer")
    visible = answer.get("envs", {}).get("NVIDIA_VISIBLE_DEVICES") if isinstance(answer, dict) else None
    if isinstance(visible, str) and visible:
        devices = ",".join(label_of(d, names) for d in visible.split(","))
        return Mark(0, "calls", f"{rpc} → {devices}", detail=str(answer)[:300])
    return Mark(0, "calls", f"{rpc} answered", detail=str(answer)[:300])


class _Health:
    """The kubelet's view of each device over time, with the reason for every change."""

    def __init__(self, names: dict[str, str], gpus: list[dict[str, Any]]) -> None:
        self.names = names
        self.index_of = {g["uuid"]: i for i, g in enumerate(gpus)}
        self.rows: dict[str, Row] = {}
        self.state: dict[str, tuple[str, float, float, str, str]] = {}  # device → state, t, at, why, short
        self.resource_of: dict[str, str] = {}
        self.last_fault: dict[int, str] = {}  # GPU index → "xid 79 on gpu1 at 0.300s"

    def set(
        self,
        device: str,
        state: str,
        t: float,
        at: float,
        reason: str,
        short: str = "",
        new_span: bool = False,
    ) -> None:
        if device not in self.rows:
            self.rows[device] = Row(device, label_of(device, self.names))
        old = self.state.get(device)
        if old is not None and old[0] == state and not new_span:
            return
        if old is not None:
            self.rows[device].spans.append(Span(old[1], t, old[0], old[3], old[2], old[4]))
        self.state[device] = (state, t, at, reason, short)

    def finish(self, end: float) -> None:
        for device, (state, t, at, reason, short) in self.state.items():
            self.rows[device].spans.append(Span(t, end, state, reason, at, short))

    def fault(self, data: dict[str, Any], label: str, at: float) -> None:
        if isinstance(data.get("gpu"), int):
            self.last_fault[data["gpu"]] = f"{label} at {at:.3f}s"

    def _fault_of(self, device: str) -> str:
        gpu = self.index_of.get(device.split("::")[0])
        if gpu is None:  # a MIG device: its parent's fault
            parent = self.names.get(device.split("::")[0], "").split("/")[0]
            gpu = int(parent[3:]) if parent.startswith("gpu") and parent[3:].isdigit() else None
        return self.last_fault.get(gpu, "") if gpu is not None else ""

    def listed(self, data: dict[str, Any], t: float, at: float) -> None:
        resource = data.get("resource", "")
        listed = {d["id"]: d.get("health", HEALTHY) for d in data.get("devices", [])}
        for device, health in listed.items():
            self.resource_of[device] = resource
            if health == HEALTHY:
                self.set(device, HEALTHY, t, at, f"the plugin lists it Healthy (since {at:.3f}s)")
            else:
                fault = self._fault_of(device)
                why = "the plugin reported it Unhealthy" + (f" (after {fault})" if fault else "")
                self.set(device, UNHEALTHY, t, at, f"{why} at {at:.3f}s", fault.split(" at ")[0])
        for device in list(self.state):
            if self.resource_of.get(device) == resource and device not in listed:
                self.set(
                    device,
                    GONE,
                    t,
                    at,
                    f"no longer in the plugin's device list (since {at:.3f}s)",
                    "unlisted",
                )

    def disconnected(self, resource: str | None, t: float, at: float, reason: str, short: str) -> None:
        for device, (state, *_rest) in list(self.state.items()):
            if state == GONE or (resource is not None and self.resource_of.get(device) != resource):
                continue
            self.set(device, NO_PLUGIN, t, at, reason, short, new_span=state == NO_PLUGIN)

    def registered(self, resource: str, t: float, at: float) -> None:
        """Registered again: still no devices in the kubelet's view until ListAndWatch lists them."""
        why = (
            f"the plugin registered again at {at:.3f}s; the kubelet counts its devices unhealthy until "
            "ListAndWatch sends the device list"
        )
        for device, (state, *_rest) in list(self.state.items()):
            if state == NO_PLUGIN and self.resource_of.get(device) == resource:
                self.set(device, NO_PLUGIN, t, at, why, "awaiting the device list", new_span=True)

    def removed(self, resource: str, t: float, at: float) -> None:
        for device in list(self.state):
            if self.resource_of.get(device) == resource:
                why = f"the kubelet removed the endpoint after the grace period ({at:.3f}s)"
                self.set(device, GONE, t, at, why, "endpoint removed")


UNHEALTHY_BY_KUBELET = "the kubelet counts its devices unhealthy until the plugin registers again"


def build_timeline(
    events: list[dict[str, Any]],
    gpus: list[dict[str, Any]],
    steps: list[StepResult] | None = None,
    wanted: dict[str, str] | None = None,
) -> Timeline:
    """``wanted``: device ID → the health the failed expectation wanted (drawn over its window)."""
    names = _aliases(gpus)
    cut = next(
        (i for i, e in enumerate(events) if e["source"] == "harness" and e["kind"] == "teardown"), None
    )
    if cut is not None:
        events = events[: cut + 1]  # what teardown does is not part of the scenario's story
    times = TimeMap(cuts(events, steps or []))
    display = times.display
    health = _Health(names, gpus)
    marks: list[Mark] = []
    bands: list[Band] = []
    down_since: tuple[float, str] | None = None
    restarting = False
    for event in events:
        at, t = event["t"], display(event["t"])
        source, kind, data = event["source"], event["kind"], event.get("data", {})
        mark = _mark(event, names, restarting)
        if mark is not None and mark.label.startswith(NVML_EVENTS) and marks:
            last = marks[-1]
            if last.label.startswith(NVML_EVENTS) and at - last.at < 0.05:
                last.detail = f"{last.detail}, {mark.detail}"  # one pass over the GPUs: one mark
                last.label = f"{NVML_EVENTS} ({last.detail.count(',') + 1} GPUs)"
                continue
        if mark is not None:
            mark.t, mark.at = t, at
            marks.append(mark)
            if mark.lane == "fault":
                health.fault(data, mark.label, at)
        if source != "kubelet":
            continue
        if kind == "devices":
            health.listed(data, t, at)
        elif kind == "stream_end":
            why = data.get("reason") or "the stream ended"
            health.disconnected(
                data.get("resource"), t, at, f"{why} at {at:.3f}s; {UNHEALTHY_BY_KUBELET}", "stream ended"
            )
        elif kind in ("stop", "crash"):
            restarting = data.get("reason") == "restart"
            what = "restarting" if restarting else ("crashed" if kind == "crash" else "stopped")
            health.disconnected(
                None, t, at, f"the kubelet {what} at {at:.3f}s; {UNHEALTHY_BY_KUBELET}", f"kubelet {what}"
            )
            down_since = (t, "kubelet restarting" if restarting else f"kubelet {what}")
        elif kind == "start":
            if down_since is not None:
                bands.append(Band(down_since[0], t, down_since[1]))
                down_since = None
            again = f"the kubelet started again at {at:.3f}s and waits for the plugin to register again"
            health.disconnected(None, t, at, again, "awaiting registration")
            restarting = False
        elif kind == "endpoint_removed":
            health.removed(data.get("resource", ""), t, at)
        elif kind == "register" and data.get("accepted", True):
            health.registered(data.get("resource", ""), t, at)
    end = display(events[-1]["t"]) if events else 0.0
    if down_since is not None:
        bands.append(Band(down_since[0], end, down_since[1]))
    health.finish(end)
    windows = [
        Window(display(s.t_start), display(s.t_end), s.index, s.key, s.title, str(s.status), s.t_start)
        for s in steps or []
    ]
    rows = sorted(health.rows.values(), key=lambda r: (not r.label.startswith("gpu"), _natural(r.label)))
    breaks = [(display(c.start), c) for c in times.cuts]
    timeline = Timeline(end, rows, marks, breaks, windows, bands, times=times)
    timeline.focus = _focus(windows, end)
    failed = next((w for w in windows if w.status in ("failed", "error")), None)
    if failed is not None and wanted:
        timeline.wanted = [
            Wanted(row.device, row.label, wanted[row.device], failed.start, failed.end, failed.index)
            for row in rows
            if row.device in wanted
        ]
    return timeline


def timeline_of(result: Result) -> Timeline:
    """A case's timeline, with what its failed expectation wanted of the devices."""
    wanted = result.failure.health if result.failure else {}
    return build_timeline(result.events, result.gpus, result.steps, wanted)


def _focus(windows: list[Window], end: float) -> tuple[float, float] | None:
    """Around the step that failed: from the last action before it (what the failure follows
    from) to a little after it ended; None when that is the whole picture anyway."""
    failed = next((i for i, w in enumerate(windows) if w.status in ("failed", "error")), None)
    if failed is None or end <= 0:
        return None
    step = windows[failed]
    cause = next((w for w in reversed(windows[:failed]) if w.key != "expect"), step)
    pad = max(0.02 * end, 0.005)
    start, stop = max(0.0, min(cause.start, step.start) - pad), min(end, step.end + pad)
    if stop - start >= 0.95 * end:
        return None
    return start, stop


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]
