from __future__ import annotations

from harness.reports.svg import render_svg
from harness.reports.text import render_text
from harness.reports.timeline import build_timeline

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
    ev(300.4, "kubelet", "stream_end", resource="r"),
    ev(300.5, "harness", "teardown"),
    ev(300.6, "kubelet", "stop"),
]


def test_timeline_rows_follow_the_kubelets_view_and_cut_virtual_jumps() -> None:
    timeline = build_timeline(EVENTS, GPUS)
    rows = {r.label: r.segments for r in timeline.rows}
    assert [s[2] for s in rows["gpu1"]] == ["Healthy", "Unhealthy"]
    assert [s[2] for s in rows["gpu0"]] == ["Healthy", "Unhealthy"]  # the stream ended
    assert timeline.end < 1.0, "the 5-minute jump is drawn as a break, not 300 s of picture"
    assert timeline.breaks and timeline.breaks[0][1] == 300.0
    labels = [m.label for m in timeline.marks]
    assert "xid 79 gpu1" in labels and "register r" in labels and "kubelet stop" not in labels


def test_svg_and_text_show_one_row_per_device_and_the_marks() -> None:
    timeline = build_timeline(EVENTS, GPUS)
    svg = render_svg(timeline, "t")
    assert svg.startswith("<svg") and svg.count(">gpu") == 2 and "xid 79 gpu1" in svg
    text = render_text(timeline)
    assert "gpu1" in text and "░" in text and "┊" in text
