"""With our plugin in-process, waits jump the scenario clock over quiet stretches (simkit.pacer).

What a wait checks stays the same on the scenario clock; only the real time it costs changes.
Plugins in another process keep their own real-time timers, so their waits run in real time.
"""

from __future__ import annotations

from harness.model.scenario import load
from harness.runner import RunOptions, run_scenario

REGISTERED = "  - expect: {registered: true, allocatable: 2, within: 5s}\n"


def run(write, body: str, **options):
    path = write("s.yaml", "description: d\nnode: 2xH100\n" + body)
    (scenario,) = load(path)
    return run_scenario(scenario, RunOptions(**options))


def jumps(result, why: str) -> float:
    return sum(e["data"]["seconds"] for e in result.events if e["kind"] == "jump" and e["data"]["why"] == why)


def test_a_long_hold_with_nothing_due_passes_on_the_scenario_clock(write) -> None:
    result = run(write, "steps:\n" + REGISTERED + "  - expect: {allocatable: 2, for: 1m}\n")
    assert result.status == "passed", result.report()
    hold = result.steps[-1]
    assert hold.t_end - hold.t_start >= 60  # a minute of scenario time was held
    assert jumps(result, "for") > 59
    assert hold.wall_s < 30  # and not waited out


def test_a_hold_still_sees_a_change_that_a_timer_makes_inside_it(write) -> None:
    # With --health-recovery the plugin probes a recovered GPU once a clock second, and returns
    # it to Healthy after three clean probes: a 10 s hold on "still Unhealthy" must break at ~3 s.
    result = run(
        write,
        "plugin: {args: [--health-recovery]}\nsteps:\n" + REGISTERED + "  - inject: {gpu_lost: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy}, within: 2s}\n"
        "  - inject: {recover: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy}, for: 10s}\n",
    )
    assert result.status == "failed"
    assert "stopped holding after" in result.failure.message
    after = float(result.failure.message.split("stopped holding after ")[1].split("s")[0])
    assert 2.9 <= after < 4.5, result.failure.message


def test_a_wait_for_a_timer_jumps_to_it(write) -> None:
    # The probes are due one clock second apart; nothing advances the clock by hand.
    result = run(
        write,
        "plugin: {args: [--health-recovery]}\nsteps:\n" + REGISTERED + "  - inject: {gpu_lost: gpu1}\n"
        "  - expect: {health: {gpu1: Unhealthy}, within: 2s}\n"
        "  - inject: {recover: gpu1}\n"
        "  - expect: {health: {all: Healthy}, within: 10s}\n",
    )
    assert result.status == "passed", result.report()
    assert jumps(result, "within") >= 2.5
    assert result.steps[-1].wall_s < 2


def test_a_hung_plugin_call_gets_its_verdict_at_the_deadline_without_waiting_it_out(write) -> None:
    # An NVML call that hangs for a minute blocks GetPreferredAllocation (the plugin scores its
    # topology on first use): our call's 10 s deadline, then the kubelet's, pass on the clock.
    result = run(
        write,
        "steps:\n" + REGISTERED + "  - inject: {latency: nvmlDeviceGetHandleByUUID, seconds: 60s}\n"
        "  - call: {rpc: GetPreferredAllocation, available: ['{healthy}'], size: 1, timeout: 10s,"
        " error: {regex: DEADLINE_EXCEEDED}}\n"
        "  - admit: {pod: p1, gpus: 1, fails: {regex: deadline}}\n",
    )
    assert result.status == "passed", result.report()
    # Most of each deadline is jumped; what passes before the clock sees the case quiet is real
    # time (about 0.1 s here, 0.3 s on a loaded machine).
    assert jumps(result, "call") >= 9 and jumps(result, "admit") >= 9
    assert result.run_s < 10  # twice ten seconds of deadlines, judged without waiting them


def test_a_plugin_process_keeps_real_time(write) -> None:
    result = run(
        write,
        "plugin: {command: 'python -c \"import time; time.sleep(30)\"'}\n"
        "steps:\n  - expect: {running: true, for: 300ms}\n",
    )
    assert result.status == "passed", result.report()
    assert not [e for e in result.events if e["kind"] == "jump"]
    assert result.steps[-1].wall_s >= 0.3


def test_pacing_off_waits_in_real_time(write, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_QUIET_MS", "0")
    result = run(write, "steps:\n" + REGISTERED + "  - expect: {allocatable: 2, for: 300ms}\n")
    assert result.status == "passed", result.report()
    assert not [e for e in result.events if e["kind"] == "jump"]
    assert result.steps[-1].wall_s >= 0.3


def test_a_plugin_start_held_up_by_nvml_latency_waits_on_the_clock(write) -> None:
    result = run(
        write,
        # Start calls nvmlDeviceGetCount twice (platform detection, discovery): 2 x 20 s, under
        # the minute an action may jump.
        "plugin: {start: false}\nsteps:\n  - inject: {latency: nvmlDeviceGetCount, seconds: 20s}\n"
        "  - plugin: start\n" + REGISTERED,
    )
    assert result.status == "passed", result.report()
    assert jumps(result, "plugin start") >= 39.9
    assert result.steps[1].wall_s < 10
