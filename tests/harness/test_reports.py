"""The timeline model and its pictures say what happened to each device, and why."""

from __future__ import annotations

from harness.reports.svg import render_svg
from harness.reports.text import render_text
from harness.reports.timeline import GONE, HEALTHY, NO_PLUGIN, UNHEALTHY, build_timeline
from harness.reports.timemap import Cut, TimeMap
from harness.result import Status, StepResult

GPUS = [{"alias": "gpu0", "uuid": "GPU-0", "mig": []}, {"alias": "gpu1", "uuid": "GPU-1", "mig": []}]


def ev(t, source, kind, **data):
    return {"seq": 0, "t": t, "source": source, "kind": kind, "data": data}


def devices(t, **health):
    return ev(
        t,
        "kubelet",
        "devices",
        resource="r",
        devices=[{"id": k.replace("g", "GPU-"), "health": v} for k, v in health.items()],
    )


EVENTS = [
    ev(0.0, "kubelet", "start"),
    ev(0.1, "kubelet", "register", resource="r", accepted=True),
    devices(0.2, g0="Healthy", g1="Healthy"),
    ev(0.3, "node", "xid", gpu=1, xid=79),
    devices(0.35, g0="Healthy", g1="Unhealthy"),
    ev(0.4, "harness", "advance", seconds=300.0),
    ev(300.4, "kubelet", "stream_end", resource="r", reason="the plugin ended the stream"),
    ev(300.45, "kubelet", "endpoint_removed", resource="r"),
    ev(300.5, "harness", "teardown"),
    ev(300.6, "kubelet", "stop"),
]

RESTART = [
    ev(0.0, "kubelet", "start"),
    devices(0.1, g0="Healthy", g1="Healthy"),
    ev(0.2, "kubelet", "stop", reason="restart"),
    ev(0.21, "kubelet", "restart"),
    ev(0.21, "kubelet", "start"),
    ev(0.25, "kubelet", "register", resource="r", accepted=True),
    devices(0.26, g0="Healthy", g1="Healthy"),
    ev(0.3, "harness", "teardown"),
]


def states(timeline, label):
    return [s.state for s in next(r for r in timeline.rows if r.label == label).spans]


def test_health_follows_the_kubelets_view_and_says_why() -> None:
    timeline = build_timeline(EVENTS, GPUS)
    assert states(timeline, "gpu1") == [HEALTHY, UNHEALTHY, NO_PLUGIN, GONE]
    assert states(timeline, "gpu0") == [HEALTHY, NO_PLUGIN, GONE]
    gpu1 = next(r for r in timeline.rows if r.label == "gpu1")
    assert "the plugin reported it Unhealthy (after xid 79 gpu1 at 0.300s)" in gpu1.spans[1].reason
    assert "the plugin ended the stream" in gpu1.spans[2].reason
    assert "counts its devices unhealthy" in gpu1.spans[2].reason
    assert "grace period" in gpu1.spans[3].reason
    assert timeline.end < 1.0, "the 5-minute jump is drawn as a break, not 300 s of picture"
    (jump,) = [c for _, c in timeline.breaks if c.kind == "jump"]
    assert jump.length == 300.0
    labels = [m.label for m in timeline.marks]
    assert "xid 79 gpu1" in labels and "registered" in labels and "kubelet stop" not in labels


def test_a_kubelet_restart_is_a_band_and_no_plugin_not_every_gpu_failing() -> None:
    timeline = build_timeline(RESTART, GPUS)
    assert states(timeline, "gpu0") == [HEALTHY, NO_PLUGIN, NO_PLUGIN, NO_PLUGIN, HEALTHY]
    assert [b.label for b in timeline.bands] == ["kubelet restarting"]
    spans = next(r for r in timeline.rows if r.label == "gpu0").spans
    assert "the kubelet restarting" in spans[1].reason and "waits for the plugin" in spans[2].reason
    assert "registered again at 0.250s" in spans[3].reason and spans[3].short == "awaiting the device list"
    assert [m.label for m in timeline.marks if m.lane == "kubelet"] == ["kubelet start", "kubelet restart"]
    svg = render_svg(timeline, "t")
    assert "kubelet restarting" in svg and "no plugin connection" in svg
    assert 'fill="#d64545"><title>gpu0' not in svg  # no device is drawn Unhealthy


def test_quiet_stretches_are_cut_so_the_events_are_not_squeezed() -> None:
    events = [ev(0.0, "kubelet", "start"), devices(0.05, g0="Healthy"), ev(2.05, "harness", "teardown")]
    steps = [StepResult(1, "expect", "step 1 (expect): x", "s.yaml:3:5", Status.FAILED, 0.05, 2.05)]
    timeline = build_timeline(events, GPUS, steps)
    (quiet,) = [c for _, c in timeline.breaks if c.kind == "quiet"]
    assert quiet.length > 1.9 and timeline.end < 0.2
    assert abs(timeline.scenario_time(timeline.end) - 2.05) < 1e-6


def test_display_and_scenario_time_are_inverse_across_cuts() -> None:
    times = TimeMap([Cut(1.0, 10.0, 0.1, "jump"), Cut(12.0, 3.0, 0.2, "quiet")])
    for t in (0.0, 0.5, 1.0, 5.0, 11.0, 11.5, 13.0, 15.0, 20.0):
        assert abs(times.scenario(times.display(t)) - t) < 1e-9


def test_a_failed_case_has_a_focus_around_the_failing_step() -> None:
    events = [ev(t / 10, "plugin", "log", line="x") for t in range(40)] + [ev(4.0, "harness", "teardown")]
    steps = [
        StepResult(1, "expect", "step 1", "s:1:1", Status.PASSED, 0.0, 3.5),
        StepResult(2, "expect", "step 2", "s:2:1", Status.FAILED, 3.6, 3.9),
    ]
    timeline = build_timeline(events, GPUS, steps)
    assert timeline.focus is not None
    start, stop = timeline.focus
    assert start < 3.6 < 3.9 <= stop and stop - start < 0.5 * timeline.end


def test_svg_and_text_show_one_row_per_device_a_legend_an_axis_and_the_marks() -> None:
    timeline = build_timeline(EVENTS, GPUS)
    svg = render_svg(timeline, "t")
    assert svg.startswith("<svg") and svg.count('class="device"') == 2 and "xid 79 gpu1" in svg
    assert "device Healthy" in svg and "scenario time" in svg and "+5m" in svg
    text = render_text(timeline)
    assert "gpu1" in text and "░" in text and "┊" in text
    assert "gpu1: Unhealthy from 0.350s: the plugin reported it Unhealthy" in text


def test_the_failed_expectation_is_drawn_over_the_device_against_what_the_kubelet_saw() -> None:
    steps = [
        StepResult(1, "expect", "step 1", "s:1:1", Status.PASSED, 0.0, 0.2),
        StepResult(2, "expect", "step 2 (expect): health gpu0 Unhealthy", "s:2:1", Status.FAILED, 0.36, 0.4),
    ]
    events = [*EVENTS[:5], ev(0.4, "harness", "teardown")]
    timeline = build_timeline(events, GPUS, steps, {"GPU-0": UNHEALTHY})
    (wanted,) = timeline.wanted
    assert (wanted.label, wanted.state, wanted.step) == ("gpu0", UNHEALTHY, 2)
    svg = render_svg(timeline, "t")
    assert svg.count('class="wanted"') == 1 and "expected Unhealthy, saw Healthy" in svg
    assert "gpu0 ✗" in svg and "gpu1 ✗" not in svg and "2 expect failed" in svg
    held = build_timeline(events, GPUS, steps, {"GPU-1": UNHEALTHY})
    assert 'class="wanted held"' in render_svg(held, "t"), "a device that was as expected is not crossed"


def test_the_plugins_nvml_event_subscriptions_are_one_plugin_mark_not_faults() -> None:
    events = [
        ev(0.0, "kubelet", "start"),
        ev(0.01, "node", "events_registered", gpu=0, uuid="GPU-0", mask=11),
        ev(0.011, "node", "events_registered", gpu=1, uuid="GPU-1", mask=11),
        ev(0.3, "node", "xid", gpu=1, xid=79),
    ]
    marks = [(m.lane, m.label) for m in build_timeline(events, GPUS).marks]
    assert ("plugin", "NVML events registered (2 GPUs)") in marks
    assert [label for lane, label in marks if lane == "fault"] == ["xid 79 gpu1"]


def test_a_direct_call_is_marked_with_the_devices_it_answered_and_a_zoom_drops_empty_lanes() -> None:
    answer = {"envs": {"NVIDIA_VISIBLE_DEVICES": "GPU-1"}, "mounts": []}
    events = [
        ev(0.0, "kubelet", "start"),
        ev(0.1, "kubelet", "register", resource="r", accepted=True),
        devices(0.2, g0="Healthy", g1="Healthy"),
        ev(0.5, "harness", "rpc", rpc="Allocate", answer=answer),
        ev(0.6, "harness", "rpc", rpc="GetPreferredAllocation", error="StatusCode.UNIMPLEMENTED"),
        ev(0.7, "harness", "teardown"),
    ]
    steps = [StepResult(1, "call", "step 1 (call): Allocate", "s:1:1", Status.FAILED, 0.45, 0.5)]
    timeline = build_timeline(events, GPUS, steps)
    calls = [m.label for m in timeline.marks if m.lane == "calls"]
    assert calls == ["Allocate → gpu1", "GetPreferredAllocation failed"]
    zoomed = render_svg(timeline, "t", (0.4, 0.55))
    assert "Allocate → gpu1" in zoomed and ">direct calls<" in zoomed
    assert ">registration<" not in zoomed, "nothing registered in this window: no lane for it"
    assert ">registration<" in render_svg(timeline, "t")
