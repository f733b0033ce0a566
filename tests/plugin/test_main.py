"""``python -m plugin`` as a process: exit codes, registration, re-registration, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML

ROOT = Path(__file__).resolve().parents[2]
GPU = "nvidia.com/gpu"


def run_plugin(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "plugin", *argv],
        cwd=ROOT,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["--mig-strategy=sometimes"], {}, "unknown MIG strategy: 'sometimes'"),
        (["--bogus"], {}, "flag provided but not defined: -bogus"),
        ([], {"DEVICE_LIST_STRATEGY": "carrier-pigeon"}, "invalid strategy: carrier-pigeon"),
        (["--nvml", "sim:17xWarpDrive"], {}, "invalid --nvml option 'sim:17xWarpDrive'"),
    ],
)
def test_bad_configuration_exits_2_with_one_line(argv: list[str], env: dict[str, str], needle: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugin", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=60,
    )
    assert result.returncode == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plugin", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0 and "--device-list-strategy" in result.stdout


def test_sim_node_registers_reregisters_after_kubelet_restart_and_sighup_then_exits_on_sigterm(
    kubelet: FakeKubelet, sockdir: str, procs: list
) -> None:
    proc = run_plugin(
        "--nvml", "sim:4xH100", "--socket-dir", sockdir, "--kubelet-socket", f"{sockdir}/kubelet.sock"
    )
    procs.append(proc)
    kubelet.wait_for_registration(GPU, timeout=30)
    kubelet.wait_for_allocatable(GPU, 4)
    assert kubelet.resource(GPU).endpoint.endpoint == "nvidia-gpu.sock"

    since = kubelet.log.last_seq
    kubelet.restart()
    kubelet.wait_for_registration(GPU, since=since)
    kubelet.wait_for_allocatable(GPU, 4)

    since = kubelet.log.last_seq
    proc.send_signal(signal.SIGHUP)
    kubelet.wait_for_registration(GPU, since=since)

    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
    assert "rebuild reason=kubelet-restart" in stderr and "rebuild reason=sighup" in stderr
    assert "exiting reason=SIGTERM" in stderr
    assert kubelet.violations == []


def test_connect_to_a_served_node_that_cannot_init_exits_1(sockdir: str) -> None:
    node = FakeNVML.from_spec("2xT4")
    server = node.serve(f"{sockdir}/nvml.sock")
    try:
        node.fail_init("driver_not_loaded")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "plugin",
                "--nvml",
                f"connect:{sockdir}/nvml.sock",
                "--kubelet-socket",
                f"{sockdir}/kubelet.sock",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    finally:
        server.close()
        node.close()
    assert result.returncode == 1
    assert "failed to initialize NVML: Driver Not Loaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_connect_to_a_served_node_registers_its_gpus(kubelet: FakeKubelet, sockdir: str, procs: list) -> None:
    node = FakeNVML.from_spec("2xT4")
    server = node.serve(f"{sockdir}/nvml.sock")
    try:
        procs.append(
            run_plugin(
                "--nvml", f"connect:{sockdir}/nvml.sock", "--kubelet-socket", f"{sockdir}/kubelet.sock"
            )
        )
        kubelet.wait_for_allocatable(GPU, 2, timeout=30)
        node.inject_xid(1, 79)
        kubelet.wait_for_allocatable(GPU, 1)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=20)
        server.close()
        node.close()


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: f"{d}/missing", "--socket-dir '{d}/missing' does not exist (from flag --socket-dir)"),
        (lambda d: f"{d}/kubelet.sock.txt", "--socket-dir '{d}/kubelet.sock.txt' is not a directory"),
        (
            lambda d: f"{d}/{'s' * 100}",
            "bytes, more than the 107 a unix socket path may have; choose a shorter --socket-dir",
        ),
    ],
    ids=["missing", "a-file", "too-long"],
)
def test_a_socket_dir_that_cannot_hold_our_sockets_exits_2_with_one_line_and_is_not_created(
    sockdir: str, make, needle: str, capsys
) -> None:
    from plugin.__main__ import main

    Path(f"{sockdir}/kubelet.sock.txt").write_text("not a directory")
    os.makedirs(f"{sockdir}/{'s' * 100}")
    socket_dir = make(sockdir)
    argv = ["--nvml", "sim:1xT4", "--socket-dir", socket_dir, "--kubelet-socket", f"{sockdir}/kubelet.sock"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle.format(d=sockdir) in err and len(err.strip().splitlines()) == 1, err
    assert not os.path.exists(f"{sockdir}/missing"), "a missing socket dir is an error, never created"


def test_a_socket_dir_we_may_not_write_exits_2(sockdir: str, monkeypatch, capsys) -> None:
    from plugin.__main__ import main

    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != sockdir and real_access(path, mode))
    assert (
        main(["--nvml", "sim:1xT4", "--socket-dir", sockdir, "--kubelet-socket", f"{sockdir}/kubelet.sock"])
        == 2
    )
    assert f"--socket-dir '{sockdir}': permission denied" in capsys.readouterr().err


def test_a_kubelet_socket_in_a_missing_directory_exits_2(sockdir: str, capsys) -> None:
    from plugin.__main__ import main

    assert (
        main(["--nvml", "sim:1xT4", "--socket-dir", sockdir, "--kubelet-socket", f"{sockdir}/k/kubelet.sock"])
        == 2
    )
    assert (
        f"--kubelet-socket '{sockdir}/k/kubelet.sock': its directory does not exist"
        in capsys.readouterr().err
    )
