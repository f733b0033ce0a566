"""Traces keep only what the kubelet saw; comparing two says exactly what differs, and when."""

from __future__ import annotations

from types import SimpleNamespace as NS

from harness.diff.compare import compare
from harness.diff.trace import trace

GPU = "GPU-11111111-2222-3333-4444-555555555555"


def ev(t: float, source: str, kind: str, **data):
    return {"t": t, "source": source, "kind": kind, "data": data}


def result(events, status="passed", failure=None):
    return NS(events=events, gpus=[{"uuid": GPU, "mig": []}], status=status, failure=failure)


def run(
    health: str = "Unhealthy", t_unhealthy: float = 1.2, log: str = "device-unhealthy", visible: str = GPU
):
    return result(
        [
            ev(
                0.1,
                "kubelet",
                "register",
                resource="nvidia.com/gpu",
                endpoint="nvidia-gpu.sock",
                version="v1beta1",
                accepted=True,
                reason=None,
            ),
            ev(
                0.1,
                "kubelet",
                "devices",
                resource="nvidia.com/gpu",
                devices=[{"id": GPU, "health": "Healthy", "numa": [0]}],
            ),
            ev(0.2, "harness", "step", index=1, step="expect", text="registered"),
            ev(1.0, "harness", "step", index=2, step="inject", text="XID 79 on gpu0"),
            ev(t_unhealthy, "plugin", "log", line=log),
            ev(
                t_unhealthy,
                "kubelet",
                "devices",
                resource="nvidia.com/gpu",
                devices=[{"id": GPU, "health": health, "numa": [0]}],
            ),
            ev(1.5, "harness", "step", index=3, step="admit", text="admit pod p1"),
            ev(
                1.6,
                "kubelet",
                "allocate",
                resource="nvidia.com/gpu",
                pod="p1",
                container="main",
                devices=[GPU],
                response={
                    "envs": {"NVIDIA_VISIBLE_DEVICES": visible},
                    "annotations": {"cdi.k8s.io/x_0b7e6a52-1c4d-4f3e-9a1b-2c3d4e5f6a7b": "y"},
                },
                error=None,
            ),
            ev(2.0, "harness", "teardown", status="passed"),
        ]
    )


def test_what_the_plugin_logs_is_no_difference_and_fresh_uuids_are_not_either() -> None:
    assert compare("c", trace(run()), trace(run(log="something else entirely"))) == []


def test_a_health_difference_is_named_by_the_action_that_caused_it() -> None:
    (diff,) = compare("c", trace(run()), trace(run(health="Healthy")))
    assert (diff.step, diff.aspect) == ("step 2: XID 79 on gpu0", "devices nvidia.com/gpu")
    assert "Unhealthy" in diff.a and "Healthy numa" in diff.b


def test_allocate_answers_differ_field_by_field() -> None:
    (diff,) = compare("c", trace(run()), trace(run(visible="0")))
    assert (diff.step, diff.aspect, diff.b) == (
        "step 3: admit pod p1",
        "Allocate p1/main envs",
        '{"NVIDIA_VISIBLE_DEVICES": "0"}',
    )


def test_timing_beyond_the_tolerance_is_a_difference_and_within_it_is_not() -> None:
    assert compare("c", trace(run()), trace(run(t_unhealthy=1.9)), tolerance=1.0) == []
    (diff,) = compare("c", trace(run()), trace(run(t_unhealthy=1.9)), tolerance=0.5)
    assert diff.timing and diff.aspect == "time devices nvidia.com/gpu changed"
    assert (diff.a, diff.b) == ("0.200s", "0.900s")


def test_a_different_verdict_says_where_each_run_stopped() -> None:
    failed = run()
    failed.status, failed.failure = "failed", NS(step="step 4 (expect): allocatable 0")
    verdict = compare("c", trace(run()), trace(failed))[0]
    assert (verdict.step, verdict.a, verdict.b) == (
        "verdict",
        "passed",
        "failed at step 4 (expect): allocatable 0",
    )


def test_a_difference_that_lasts_is_reported_once_where_it_began() -> None:
    longer = run()
    longer.events.insert(-1, ev(1.8, "harness", "step", index=4, step="kubelet", text="kubelet restart"))
    other = run(health="Healthy")
    other.events.insert(-1, ev(1.8, "harness", "step", index=4, step="kubelet", text="kubelet restart"))
    diffs = compare("c", trace(longer), trace(other))
    assert [d.step for d in diffs] == ["step 2: XID 79 on gpu0"]
