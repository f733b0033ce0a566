"""What the kubelet saw of one case, step by step: the part of a run that two plugins are compared on.

A :class:`Trace` is drawn from a case's observation log (``Result.events``): for every action
step of the scenario (``expect`` steps only wait, so what is seen while one waits belongs to the
action before it; what happens before the first action belongs to "start"), the kubelet-visible
facts that action produced (registrations, options, the device sets and their health over time,
Allocate / GetPreferredAllocation / PreStartContainer answers and errors, admissions, direct
calls, plugin exits) and when they happened relative to the step's start, or to the plugin's
launch when it was launched during that step (its ``start``, or its ``exec`` where a launcher
builds a world first: the namespace launcher's seconds of mounts are the harness's, not the
plugin's). Nothing of the plugin's own output is used: two plugins that log differently but
answer the kubelet alike have equal traces. IDs that are fresh in every answer (the version-4
UUID in a CDI annotation key) are written ``<uuid>``, and the case's temporary folder ``<tmp>``,
so they do not count as differences. A
resource's first registration after the plugin's launch or the kubelet's start belongs to that
step (see :class:`_Trigger`), and registrations of different resources are not ordered. A
GetPreferredAllocation answer is kept as a sorted set: the kubelet reads it as one
(``sets.New(resp.ContainerResponses[0].DeviceIDs...)``), so its order is not a difference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# not \b: in NVIDIA's CDI annotation key "nvidia-device-plugin_<uuid>" the "_" is a word character
_UUID = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z])"
)
SETUP = 0  # the step index of what happens before the first step (registration at start)


@dataclass
class StepTrace:
    """The kubelet-visible facts of one action step and the waits after it (``index`` 0: start)."""

    index: int
    title: str
    facts: dict[str, Any] = field(default_factory=dict)  # aspect -> value (lists grow in order)
    times: dict[str, float] = field(default_factory=dict)  # milestone -> seconds after the step began


@dataclass
class Trace:
    status: str
    failed_at: str
    steps: dict[int, StepTrace]


class _Normalizer:
    """Writes fresh random UUIDs as ``<uuid>`` (the node's own UUIDs, same seed and node, stay) and
    the case's temporary folder as ``<tmp>`` (a socket path in a gRPC error, a per-case dev root)."""

    def __init__(self, gpus: list[dict[str, Any]], tmp: str = "") -> None:
        self.tmp = tmp
        self.keep: set[str] = set()
        for gpu in gpus:
            self.keep.update(_UUID.findall(str(gpu.get("uuid", ""))))
            for mig in gpu.get("mig", []):
                self.keep.update(_UUID.findall(str(mig)))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            if self.tmp:
                value = value.replace(self.tmp, "<tmp>")
            return _UUID.sub(lambda m: m.group(0) if m.group(0) in self.keep else "<uuid>", value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {self(k): self(v) for k, v in value.items()}
        return value


def _device_state(data: dict[str, Any]) -> list[str]:
    out = []
    for device in data.get("devices", []):
        numa = device.get("numa")
        out.append(f"{device['id']} {device['health']}" + (f" numa={numa}" if numa else ""))
    return sorted(out)


def _add(step: StepTrace, aspect: str, value: Any) -> None:
    step.facts.setdefault(aspect, []).append(value)


def _mark(step: StepTrace, milestone: str, t: float, start: float) -> None:
    step.times.setdefault(milestone, round(t - start, 6))


def trace(result: Any) -> Trace:
    """The kubelet-visible trace of a finished case (a :class:`harness.result.Result`)."""
    setup = next((e for e in result.events if (e["source"], e["kind"]) == ("harness", "setup")), None)
    norm = _Normalizer(result.gpus, str((setup or {}).get("data", {}).get("tmp") or ""))
    steps: dict[int, StepTrace] = {SETUP: StepTrace(SETUP, "start")}
    current, start, launched = steps[SETUP], 0.0, 0.0
    last_devices: dict[str, list[str]] = {}
    trigger = _Trigger(current, 0.0)
    ended = False
    exited: StepTrace | None = None
    for event in result.events:
        source, kind, data, t = event["source"], event["kind"], event.get("data", {}), float(event["t"])
        if source == "harness" and kind == "step":
            if data.get("step") == "expect":
                continue  # a wait: what it sees belongs to the action before it
            index = int(data.get("index", 0))
            title = str(data.get("text", ""))
            _settle(current, last_devices)
            current = steps.setdefault(index, StepTrace(index, title))
            start = t
            if data.get("skipped"):
                _add(current, "step skipped", str(data["skipped"]))
            continue
        if source == "harness" and kind == "teardown":
            ended = True  # from here on only a registered resource's first device list counts
            continue
        if ended:
            if source == "kubelet" and kind == "devices" and data.get("resource") in trigger.listing:
                trigger.answers(kind, data)
                _kubelet(trigger.step, kind, norm(data), t, trigger.since, last_devices)
            continue
        since = max(start, launched)  # a milestone's time counts from the step, or the launch in it
        if source == "harness" and kind == "rpc":
            answer = data.get("error") or data.get("answer")
            if data.get("rpc") == "GetPreferredAllocation" and isinstance(answer, list):
                answer = sorted(answer)
            _add(current, f"call {data.get('rpc')}", norm(answer))
        elif source == "plugin" and kind in ("start", "exec"):
            launched, exited = t, None
            trigger = _Trigger(current, t)
        elif source == "plugin" and kind == "exit":
            exited = current  # the streams it leaves end in this step, however late the kubelet sees it
            _add(current, "plugin exit code", data.get("code"))
            _mark(current, "plugin exited", t, since)
        elif source == "kubelet" and kind in ("stream_end", "endpoint_removed") and exited is not None:
            _kubelet(exited, kind, norm(data), t, since, last_devices)
        elif source == "kubelet":
            if kind == "start":
                trigger = _Trigger(current, since)
            if trigger.answers(kind, data):
                _kubelet(trigger.step, kind, norm(data), t, trigger.since, last_devices)
            else:
                _kubelet(current, kind, norm(data), t, since, last_devices)
    _settle(current, last_devices)
    for step in steps.values():  # the kubelet keeps each resource apart: their order is no fact
        for aspect in ("register", "options", "stream_end", "endpoint_removed"):
            if aspect in step.facts:
                step.facts[aspect].sort(key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return Trace(str(result.status), result.failure.step if result.failure else "", steps)


@dataclass
class _Trigger:
    """The plugin's launch or the kubelet's start that registrations answer. Each resource's first
    registration after it (its options, the Register, its first device list) belongs to the step
    of the trigger, however late it comes: a plugin registers its resources one at a time in an
    order of its own (NVIDIA's: Go map order), and a case moves on as soon as the one it waits
    for is registered, so the others land in whichever step runs then. A first device list that
    comes only as the case tears down (a short case ended between Register and the first
    ListAndWatch answer) still counts."""

    step: StepTrace
    since: float
    registered: set[str] = field(default_factory=set)
    listing: set[str] = field(default_factory=set)  # registered; first device list still to come

    def answers(self, kind: str, data: dict[str, Any]) -> bool:
        resource = str(data.get("resource", ""))
        if kind == "options":
            return resource not in self.registered
        if kind == "register":
            if resource in self.registered:
                return False
            if data.get("accepted"):
                self.registered.add(resource)
                self.listing.add(resource)
            return True
        if kind == "devices" and resource in self.listing:
            self.listing.discard(resource)
            return True
        return False


def _settle(step: StepTrace, last: dict[str, list[str]]) -> None:
    """A step after which a device set did not change still says what it was (unchanged)."""
    for resource, state in last.items():
        step.facts.setdefault(f"devices {resource}", [state])


def _kubelet(
    step: StepTrace, kind: str, data: dict[str, Any], t: float, start: float, last: dict[str, list[str]]
) -> None:
    resource = data.get("resource", "")
    if kind == "register":
        fields = ("resource", "endpoint", "version", "accepted", "reason")
        _add(step, "register", {k: data.get(k) for k in fields})
        if data.get("accepted"):
            _mark(step, "registered", t, start)
    elif kind == "options":
        keys = ("resource", "pre_start_required", "get_preferred_allocation_available", "error")
        _add(step, "options", {k: data.get(k) for k in keys})
    elif kind == "devices":
        state = _device_state(data)
        if last.get(resource) != state:
            last[resource] = state
            _add(step, f"devices {resource}", state)
            _mark(step, f"devices {resource} changed", t, start)
    elif kind in ("allocate", "preferred_allocation", "prestart"):
        who = f"{data.get('pod')}/{data.get('container')}"
        name = {
            "allocate": "Allocate",
            "preferred_allocation": "GetPreferredAllocation",
            "prestart": "PreStart",
        }[kind]
        if data.get("error"):
            _add(step, f"{name} {who} error", data["error"])
        elif kind == "allocate":
            _add(step, f"{name} {who} devices", data.get("devices"))
            for part, value in (data.get("response") or {}).items():
                _add(step, f"{name} {who} {part}", value)
        elif kind == "preferred_allocation":
            response = data.get("response")
            _add(step, f"{name} {who}", sorted(response) if isinstance(response, list) else response)
    elif kind == "admit":
        _add(
            step, f"admission {data.get('pod')}", {k: data.get(k) for k in ("admitted", "reason", "message")}
        )
    elif kind in ("stream_end", "endpoint_removed"):
        _add(step, kind, resource)
    elif kind == "capacity":
        pass  # follows from the device sets
    elif kind == "violation":
        _add(step, "kubelet contract violation", f"{data.get('rule')}: {data.get('detail')}")
