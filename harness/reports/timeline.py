"""The timeline of a scenario, drawn from its events: device health over time, and marks.

One model feeds the SVG picture and the text view (``python -m harness show``). Rows are the
devices the kubelet was told about (named by alias where the node knows them: ``gpu2``,
``gpu0::1``, ``gpu0/mig1``); each row is a list of (from, to, health) segments in the kubelet's
view: the plugin's reported health, and Unhealthy for every device of a resource once its
stream has ended. Marks are injected faults, kubelet and plugin lifecycle, registrations and
allocations. Virtual-time jumps (``advance``) are cut out and drawn as breaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BREAK_S = 0.05  # how much display time a virtual-time jump takes


@dataclass
class Mark:
    t: float
    lane: str  # "fault", "kubelet", "plugin", "register", "allocate", "step"
    label: str


@dataclass
class Row:
    device: str
    label: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass
class Timeline:
    end: float
    rows: list[Row]
    marks: list[Mark]
    breaks: list[tuple[float, float]]  # (display time, seconds skipped)


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


def _mark(event: dict[str, Any], names: dict[str, str]) -> Mark | None:
    source, kind, data, t = event["source"], event["kind"], event.get("data", {}), event["t"]
    if source == "node" and kind not in ("serving",):
        target = f" gpu{data['gpu']}" if "gpu" in data and isinstance(data["gpu"], int) else ""
        detail = f" {data['xid']}" if kind == "xid" else ""
        return Mark(t, "fault", f"{kind}{detail}{target}")
    if source == "kubelet" and kind in (
        "start",
        "stop",
        "crash",
        "restart",
        "stream_end",
        "endpoint_removed",
    ):
        return Mark(t, "kubelet", f"kubelet {kind}")
    if source == "kubelet" and kind == "register":
        return Mark(
            t,
            "register",
            f"register {data.get('resource', '')}" + ("" if data.get("accepted", True) else " rejected"),
        )
    if source == "kubelet" and kind == "allocate":
        devices = ",".join(label_of(d, names) for d in data.get("devices", []) or [])
        return Mark(
            t, "allocate", f"allocate {data.get('pod', '')}/{data.get('container', '')} {devices}".strip()
        )
    if source == "plugin" and kind in ("start", "exit"):
        return Mark(t, "plugin", f"plugin {kind}" + (f" {data.get('code')}" if kind == "exit" else ""))
    if (
        source == "harness"
        and kind == "step"
        and data.get("step") in ("plugin", "kubelet", "inject", "advance")
    ):
        return None  # the effects are marked by their own sources
    if source == "harness" and kind == "violation":
        return Mark(t, "fault", "violation")
    return None


def build_timeline(events: list[dict[str, Any]], gpus: list[dict[str, Any]]) -> Timeline:
    names = _aliases(gpus)
    # Virtual-time jumps: events at or after t0 + s are shifted back by s (minus a visible break).
    jumps = [
        (e["t"], float(e["data"]["seconds"]))
        for e in events
        if e["source"] == "harness" and e["kind"] == "advance"
    ]

    def display(t: float) -> float:
        shift = 0.0
        for t0, seconds in jumps:
            if t >= t0 + seconds - 1e-9:
                shift += seconds - BREAK_S
        return max(0.0, t - shift)

    health: dict[str, str] = {}
    since: dict[str, float] = {}
    resource_of: dict[str, str] = {}
    rows: dict[str, Row] = {}

    def set_health(device: str, state: str, t: float) -> None:
        if device not in rows:
            rows[device] = Row(device, label_of(device, names))
        if health.get(device) == state:
            return
        if device in health:
            rows[device].segments.append((since[device], t, health[device]))
        health[device], since[device] = state, t

    marks: list[Mark] = []
    cut = next(
        (i for i, e in enumerate(events) if e["source"] == "harness" and e["kind"] == "teardown"), None
    )
    if cut is not None:
        events = events[: cut + 1]  # what teardown does is not part of the scenario's story
    for event in events:
        t = display(event["t"])
        data = event.get("data", {})
        if event["source"] == "kubelet" and event["kind"] == "devices":
            listed = {d["id"]: d.get("health", "Healthy") for d in data.get("devices", [])}
            for device, state in listed.items():
                resource_of[device] = data.get("resource", "")
                set_health(device, "Healthy" if state == "Healthy" else "Unhealthy", t)
            for device in list(health):
                if resource_of.get(device) == data.get("resource") and device not in listed:
                    set_health(device, "Gone", t)
        elif event["source"] == "kubelet" and event["kind"] in ("stream_end", "stop", "crash"):
            for device in list(health):
                if event["kind"] != "stream_end" or resource_of.get(device) == data.get("resource"):
                    if health[device] == "Healthy":
                        set_health(device, "Unhealthy", t)
        elif event["source"] == "kubelet" and event["kind"] == "endpoint_removed":
            for device in list(health):
                if resource_of.get(device) == data.get("resource"):
                    set_health(device, "Gone", t)
        if (mark := _mark(event, names)) is not None:
            mark.t = t
            marks.append(mark)
    end = display(events[-1]["t"]) if events else 0.0
    for device, state in health.items():
        rows[device].segments.append((since[device], end, state))
    breaks = [(display(t0 + s), s) for t0, s in jumps]
    ordered = sorted(rows.values(), key=lambda r: (not r.label.startswith("gpu"), _natural(r.label)))
    return Timeline(end, ordered, marks, breaks)


def _natural(text: str) -> list[Any]:
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]
