"""The container launcher: the DaemonSet's security options, output as events, exit codes as for
processes, and no container left behind, whether a case passes, fails or is interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from harness import load, run_scenario
from harness.engine import access as engine
from harness.image import REPOSITORY
from harness.launchers import LaunchSpec
from harness.launchers import container as container_module
from harness.launchers.container import ContainerLauncher
from harness.runner import RunOptions

IMAGE = f"{REPOSITORY}:dev"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec(sockdir: str) -> LaunchSpec:
    socket_dir = os.path.join(sockdir, "dp")
    os.makedirs(socket_dir)
    return LaunchSpec(
        [], {}, socket_dir, os.path.join(socket_dir, "kubelet.sock"),
        nvml_endpoint=f"connect:{sockdir}/nvml.sock", image=IMAGE, name=f"test-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip


def python(spec: LaunchSpec, code: str) -> LaunchSpec:
    """The spec, running a Python snippet in our image instead of the plugin."""
    spec.command = "python3 -u -c"
    spec.args = [textwrap.dedent(code)]
    return spec


def left(case: str) -> list[str]:
    """Containers of a case, running or not, on the engine."""
    found = engine.client().containers.list(all=True, filters={"label": f"{engine.CASE_LABEL}={case}"})
    return [c.name for c in found]


def lines(log) -> list[str]:
    return [e.data["line"] for e in log.events(source="plugin", kind="log")]


def exited(log, timeout: float = 20) -> int:
    event = log.wait_for(lambda: next(iter(log.events(source="plugin", kind="exit")), None), timeout, "exit")
    return int(event.data["code"])


def test_the_container_runs_with_the_daemonsets_security_options_and_no_network(docker_engine, spec, log):
    python(
        spec,
        """
            import os, sys, time
            status = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines())
            print("caps", status["CapEff"].strip(), "nnp", status["NoNewPrivs"].strip())
            print("net", sorted(os.listdir("/sys/class/net")))
            print("dev", sorted(n for n in os.listdir("/dev") if n.startswith("nvidia")))
            print("plugin-dir", os.path.samefile("/var/lib/kubelet/device-plugins", sys.argv[1]))
            print("ready", flush=True)
            time.sleep(60)
            """,
    )
    spec.args.append(spec.socket_dir)  # the same folder, seen at its own path too
    launcher = ContainerLauncher(spec, log)
    try:
        launcher.start()
        log.wait_for(lambda: "ready" in lines(log) or launcher.exit_code is not None, 20, "the ready line")
        assert "ready" in lines(log), lines(log)
        out = lines(log)
        assert "caps 0000000000000000 nnp 1" in out
        assert "net ['lo']" in out
        assert "dev ['nvidia-modeset', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidiactl']" in out
        assert "plugin-dir True" in out
        attrs = launcher._container.get_wrapped_container().attrs["HostConfig"]
        assert attrs["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in attrs["SecurityOpt"]
        assert attrs["NetworkMode"] == "none"
    finally:
        launcher.close()
    assert left(spec.name) == []


def test_output_lines_are_plugin_events_and_the_exit_code_is_the_processes(docker_engine, spec, log):
    launcher = ContainerLauncher(
        python(spec, "print('one'); print('two', flush=True); raise SystemExit(3)"), log
    )
    try:
        launcher.start()
        assert exited(log) == 3
        assert lines(log)[-2:] == ["one", "two"]
        assert launcher.exit_code == 3 and not launcher.running
    finally:
        launcher.close()
    assert left(spec.name) == []


def test_without_a_shim_the_plugin_still_runs_and_gets_the_node_by_its_endpoint(
    docker_engine, spec, log, monkeypatch
):
    def no_compiler() -> str:
        raise container_module.shim.ShimUnavailable("no C compiler (cc) on this machine")

    monkeypatch.setattr(container_module.shim, "library_path", no_compiler)
    code = "import os; print(os.environ.get('DP_NVML'), os.environ.get('FAKE_NVML_SOCKET'), flush=True)"
    launcher = ContainerLauncher(python(spec, code), log)
    try:
        launcher.start()
        assert exited(log) == 0
        assert lines(log)[-1] == f"{spec.nvml_endpoint} None"
        said = [
            e.data["line"]
            for e in log.events(source="plugin", kind="log")
            if e.data.get("level") == "harness"
        ]
        assert said.count("the plugin gets no NVML shim: no C compiler (cc) on this machine") == 1
    finally:
        launcher.close()
    assert left(spec.name) == []


def test_kill_reads_as_sigkill_and_start_makes_a_new_container(docker_engine, spec, log):
    launcher = ContainerLauncher(python(spec, "print('up', flush=True); import time; time.sleep(60)"), log)
    try:
        launcher.start()
        log.wait_for(lambda: "up" in lines(log), 20, "up")
        first = launcher._container.get_container_id()
        launcher.kill()
        assert launcher.exit_code == -9
        launcher.start()
        log.wait_for(lambda: lines(log).count("up") == 2, 20, "up again")
        assert launcher._container.get_container_id() != first
        assert launcher.starts == 2
    finally:
        launcher.close()
    assert left(spec.name) == []


def test_stop_sends_sigterm_then_sigkill_after_the_grace_period(docker_engine, spec, log):
    # PID 1 ignores SIGTERM when it has no handler: the grace period runs out.
    launcher = ContainerLauncher(python(spec, "print('up', flush=True); import time; time.sleep(60)"), log)
    launcher.grace_s = 1.0
    try:
        launcher.start()
        log.wait_for(lambda: "up" in lines(log), 20, "up")
        launcher.stop()
        assert launcher.exit_code == -9
        assert any("did not exit within 1s of SIGTERM; sending SIGKILL" in line for line in lines(log))
    finally:
        launcher.close()


def test_a_command_the_image_lacks_exits_127_with_the_engines_reason(docker_engine, spec, log):
    spec.command = "/no/such/plugin"
    launcher = ContainerLauncher(spec, log)
    launcher.start()
    assert launcher.exit_code == 127
    assert any(line.startswith("cannot start the container:") for line in lines(log))
    launcher.close()
    assert left(spec.name) == []


def test_an_image_that_is_not_here_is_a_clear_error(docker_engine, spec, log):
    spec.image = "registry.invalid/no-such-plugin:1"
    with pytest.raises(ValueError, match="is not on this machine and cannot be pulled"):
        ContainerLauncher(spec, log)


def scenario(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "scenarios" / f"case-{uuid.uuid4().hex[:10]}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


FAILING = """
    description: expects more GPUs than the node has, so it fails
    node: 2xH100
    plugin: {image: localhost/gpu-device-plugin:dev}
    steps:
      - expect: {registered: true, within: 10s}
      - expect: {allocatable: 8, within: 200ms}
"""


def test_a_failing_case_leaves_no_container(docker_engine, tmp_path):
    path = scenario(tmp_path, FAILING)
    result = run_scenario(load(path)[0], RunOptions())
    assert result.status == "failed", result.report()
    assert left(path.stem) == []


WAITING = """
    description: waits long enough to be interrupted
    node: 2xH100
    plugin: {image: localhost/gpu-device-plugin:dev}
    steps:
      - expect: {registered: true, within: 20s}
      - expect: {allocatable: 8, within: 60s}
"""


def _started(case: str, timeout: float) -> threading.Event:
    """Set once the engine reports a container of this case started (docker's event stream)."""
    seen = threading.Event()
    events = engine.client().events(
        decode=True, filters={"label": f"{engine.CASE_LABEL}={case}", "event": "start"}
    )

    def watch() -> None:
        for _ in events:
            seen.set()
            break
        events.close()

    threading.Thread(target=watch, daemon=True).start()
    threading.Timer(timeout, events.close).start()
    return seen


@pytest.mark.parametrize("runner", ["harness", "pytest"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_an_interrupted_run_leaves_no_container(docker_engine, tmp_path, runner, sig):
    path = scenario(tmp_path, WAITING)
    started = _started(path.stem, 60)
    argv = {
        "harness": [sys.executable, "-m", "harness", "run", str(path), "--no-reports"],
        "pytest": [
            sys.executable,
            "-m",
            "pytest",
            str(path),
            "-q",
            "-p",
            "no:cacheprovider",
            "--reports-dir",
            "",
        ],
    }[runner]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert started.wait(60), "the case's container never started"
        proc.send_signal(sig)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The run's own teardown (SIGINT, SIGTERM) or its reaper (SIGKILL) removes the container.
    gone = threading.Event()
    events = engine.client().events(
        decode=True, filters={"label": f"{engine.CASE_LABEL}={path.stem}", "event": "destroy"}
    )
    watcher = threading.Thread(target=lambda: (next(iter(events), None), gone.set()), daemon=True)
    watcher.start()
    if left(path.stem):
        threading.Timer(30, events.close).start()
        gone.wait(30)
    events.close()
    assert left(path.stem) == []


def test_without_an_engine_container_cases_skip_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv(engine.REQUIRE_ENV, raising=False)
    engine.engine_support.cache_clear()
    try:
        path = scenario(tmp_path, FAILING)
        result = run_scenario(load(path)[0], RunOptions())
        assert result.status == "skipped"
        assert result.skip_reason.startswith("no Docker engine answers at unix:///nonexistent/docker.sock")
        assert "\n" not in result.skip_reason
        monkeypatch.setenv(engine.REQUIRE_ENV, "1")
        result = run_scenario(load(path)[0], RunOptions())
        assert result.status == "failed"
        assert f"{engine.REQUIRE_ENV} is set, so container cases must run" in result.failure.message
    finally:
        engine.engine_support.cache_clear()
