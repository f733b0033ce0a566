"""expect: a plugin that dies before it registers fails the wait at once, with its exit code and output."""

from __future__ import annotations

from harness.model.scenario import load
from harness.runner import RunOptions, run_scenario


def run(write, body: str, **options):
    path = write("s.yaml", "description: d\nnode: 2xH100\n" + body)
    (scenario,) = load(path)
    return run_scenario(scenario, RunOptions(**options))


def test_a_plugin_command_that_does_not_exist_fails_the_first_wait_with_exit_127(write) -> None:
    result = run(
        write, "steps:\n  - expect: {registered: true, within: 60s}\n", plugin_cmd="no-such-plugin --x"
    )
    assert result.status == "failed"
    message = result.failure.message
    assert message.startswith(
        "expectation not true, and it cannot become true: the plugin exited with code 127"
    )
    assert "cannot start 'no-such-plugin'" in message


def test_a_plugin_that_crashes_at_start_names_its_code_and_last_lines(write) -> None:
    crash = "{python} -c \"import sys; print('one'); print('boom: no GPUs'); sys.exit(3)\""
    result = run(write, "steps:\n  - expect: {allocatable: 2, within: 60s}\n", plugin_cmd=crash)
    assert result.status == "failed"
    assert (
        "exited with code 3 before it registered; its last output: one | boom: no GPUs"
        in result.failure.message
    )


def test_an_exit_the_scenario_expects_still_passes(write) -> None:
    crash = "{python} -c \"import sys; print('bad flag'); sys.exit(2)\""
    result = run(
        write, "steps:\n  - expect: {exit_code: 2, log: 'bad flag', within: 60s}\n", plugin_cmd=crash
    )
    assert result.status == "passed", result.report()


def test_a_plugin_stopped_by_a_step_is_not_a_death(write) -> None:
    idle = '{python} -c "import time; time.sleep(60)"'
    result = run(
        write,
        "steps:\n  - plugin: stop\n  - expect: {log: 'never printed', within: 300ms}\n",
        plugin_cmd=idle,
    )
    assert result.status == "failed"
    assert result.failure.message == "expectation not true within 300ms"
