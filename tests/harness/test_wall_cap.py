"""The wall cap: a case's steps get so much wall-clock time ('timeout:', else the default), then
the case fails with the step that was running; a wait that cannot fit in the cap is refused at load."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.limits import CASE_SECONDS, LimitError
from harness.model.scenario import load
from harness.runner import RunOptions, run_scenario

STUB = Path(__file__).resolve().parents[2] / "scenarios" / "_stubs" / "stub_plugin.py"
STUB_PLUGIN = (
    "resource: example.com/gpu\nnode: 1xH100\nplugin:\n"
    f'  command: "{{python}} {STUB} {{socket_dir}} {{kubelet_socket}} {{socket_dir}}/../plugins_registry"\n'
    "  env: {STUB_DEVICES: '1', STUB_HANG: Allocate}\n"
)


def _run(path: Path, give_up_s: float = 60.0):
    """Run the case on a thread, so that a cap that does not work fails the test instead of hanging it."""
    (scenario,) = load(path)
    done: list = []
    start = time.perf_counter()
    worker = threading.Thread(target=lambda: done.append(run_scenario(scenario, RunOptions())), daemon=True)
    worker.start()
    worker.join(give_up_s)
    assert done, f"the case still ran after {give_up_s:g} s: the wall cap did not end it"
    return done[0], time.perf_counter() - start


def test_a_hung_allocate_under_a_year_long_kubelet_deadline_fails_at_the_cap_naming_the_admit(write) -> None:
    path = write(
        "hung.yaml",
        "description: d\ntimeout: 2s\nkubelet: {call_timeout: 8000h}\n"
        + STUB_PLUGIN
        + "steps:\n  - expect: {allocatable: 1}\n  - admit: {pod: p1, gpus: 1}\n",
    )
    result, wall = _run(path)
    assert result.status == "failed", result.report()
    assert result.failure is not None
    assert result.failure.step.startswith("step 2 (admit)"), result.failure.step
    assert result.failure.loc == f"{path}:11:5"
    assert result.failure.message == (
        "the case ran out of time: its steps ran past the wall-clock cap of 2s (this file's 'timeout: 2s')"
    )
    assert wall < 30, "the admission's 8000h wait ended at the cap"


def test_the_default_cap_comes_from_the_environment_and_ends_the_wait_in_progress(write, monkeypatch) -> None:
    monkeypatch.setenv(CASE_SECONDS.env, "2")
    path = write(
        "holds.yaml",
        # A plugin process: holds take real time (in-process plugins have them paced on the clock).
        "description: d\n" + STUB_PLUGIN + "steps:\n"
        "  - expect: {registered: true}\n"
        "  - expect: {registered: true, for: 1500ms}\n"
        "  - expect: {registered: true, for: 1500ms}\n",
    )
    result, _ = _run(path)
    assert result.status == "failed", result.report()
    # The process' start-up decides which hold the cap falls in; either is cut short.
    assert result.failure is not None
    assert result.failure.step.startswith(("step 2 (expect)", "step 3 (expect)"))
    assert f"{CASE_SECONDS.env}=N" in result.failure.message
    held = result.steps[-1]
    # Cut before its 1.5 s were up (by how much depends on when the process' start-up ended).
    assert held.status == "failed" and held.wall_s < 1.5, "the hold was cut short, not run to its end"


def test_a_case_within_its_cap_passes_untouched(write) -> None:
    path = write(
        "quick.yaml", "description: d\nnode: 1xH100\ntimeout: 30s\nsteps:\n  - expect: {registered: true}\n"
    )
    result, _ = _run(path)
    assert result.status == "passed", result.report()


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ("timeout: 2s\nsteps:\n  - expect: {registered: true, within: 1h}\n", "1h"),
        ("timeout: 2s\nsteps:\n  - expect: {registered: true, for: 3s}\n", "3s"),
        ("timeout: 2s\nwithin: 10s\nsteps:\n  - plugin: restart\n", "10s"),
        ("timeout: 2s\nsteps:\n  - await: {pod: p1, within: 1m}\n", "1m"),
        ("timeout: 2s\nsteps:\n  - call: {rpc: GetDevicePluginOptions, timeout: 5s}\n", "5s"),
    ],
)
def test_a_wait_longer_than_the_cap_is_refused_at_load_where_it_is_written(write, body, value) -> None:
    text = "description: d\n" + body
    line = next(
        i for i, row in enumerate(text.splitlines(), 1) if f": {value}" in row and "timeout: 2s" != row
    )
    col = text.splitlines()[line - 1].index(f": {value}") + 3
    path = write("long.yaml", text)
    with pytest.raises(ScenarioError) as info:
        load(path)
    first, *rest = str(info.value).splitlines()
    assert first.startswith(f"{path}:{line}:{col}: a wait of {value} is longer"), first
    assert "is longer than the case's wall-clock cap of 2s, so it could never run to its end" in first
    assert "wait less, or raise the cap (this file's 'timeout: 2s')" in rest[-1]


def test_under_the_default_cap_the_error_says_how_to_raise_it(write) -> None:
    path = write("long.yaml", "description: d\nsteps:\n  - expect: {registered: true, within: 8000h}\n")
    with pytest.raises(
        ScenarioError, match="a wait of 8000h is longer than the case's wall-clock cap of 5m"
    ) as info:
        load(path)
    assert f"set 'timeout:' at the top of the file, or {CASE_SECONDS.env}=N for every case" in str(info.value)


def test_a_zero_timeout_and_a_bad_environment_value_are_refused(write, monkeypatch) -> None:
    zero = write("zero.yaml", "description: d\ntimeout: 0s\nsteps:\n  - plugin: restart\n")
    with pytest.raises(ScenarioError, match="'timeout' cannot be 0"):
        load(zero)
    monkeypatch.setenv(CASE_SECONDS.env, "soon")
    ok = write("ok.yaml", "description: d\nsteps:\n  - plugin: restart\n")
    with pytest.raises(LimitError, match=f"{CASE_SECONDS.env}='soon' is not a whole number"):
        load(ok)
