"""``python -m plugin`` as a process: exit codes, registration, re-registration, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target
from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML
from plugin.config import load_config

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


# Runs ``python -m plugin``'s main() in the main thread of a child process; a helper thread sends
# the signals named on the command line to ITSELF (pthread_kill), once the plugin serves. The kernel
# may hand a process-wide signal to any thread (a gRPC thread, say); here it always lands on a
# thread other than the main one, so the case is the same every run. Modes:
# - "slow-rebuild": every NVML device count takes 30 s from the SIGHUP on, and the next signal waits
#   until the rebuild has torn the first generation down (it is then stuck in NVML);
# - "registering": the signals go once the first Register call has started (Register may take 60 s).
# - "early-sighup": a SIGHUP arrives while main() reads its flags; the signals go after its rebuild.
SIGNALLER = """
import dataclasses, signal, sys, threading
import plugin.__main__ as entry
import plugin.registration as registration
from plugin.manager import PluginManager

signals, mode = sys.argv[1].split(","), sys.argv[2]
served, torn_down, nodes = threading.Event(), threading.Event(), []
make_nvml, load_config, register = entry.make_nvml, entry.load_config, registration.register
start, teardown = PluginManager.start, PluginManager._teardown

def keep_node(*args):
    nodes.append(make_nvml(*args))
    return nodes[-1]

def patient(*args):
    if mode == "early-sighup":
        signal.raise_signal(signal.SIGHUP)
    return dataclasses.replace(load_config(*args), register_timeout_s=60)

def started(self):
    start(self)
    if mode != "registering":
        served.set()

def registering(*args):
    if mode == "registering":
        served.set()
    return register(*args)

def tore_down(self):
    teardown(self)
    torn_down.set()

def signaller():
    served.wait()
    if mode == "early-sighup":
        torn_down.wait()
    for name in signals:
        if name == "SIGHUP" and mode == "slow-rebuild":
            nodes[0].add_latency("nvmlDeviceGetCount", 30)
        signal.pthread_kill(threading.get_ident(), getattr(signal, name))
        if name == "SIGHUP" and mode == "slow-rebuild":
            torn_down.wait()

entry.make_nvml, entry.load_config, registration.register = keep_node, patient, registering
PluginManager.start, PluginManager._teardown = started, tore_down
threading.Thread(target=signaller, daemon=True).start()
sys.exit(entry.main(sys.argv[3:]))
"""


def run_signalled(sockdir: str, signals: str, mode: str = "") -> subprocess.CompletedProcess[str]:
    argv = ["--nvml", "sim:2xH100", "--socket-dir", sockdir, "--kubelet-socket", f"{sockdir}/kubelet.sock"]
    return subprocess.run(
        [sys.executable, "-c", SIGNALLER, signals, mode, *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=10,  # the harness's shutdown deadline (harness/launchers/subprocess.py)
    )


def test_a_sigterm_right_after_a_sighup_on_another_thread_ends_the_plugin(
    kubelet: FakeKubelet, sockdir: str
) -> None:
    """Before: the main thread slept in queue.get() and never ran the handlers (hung every time)."""
    result = run_signalled(sockdir, "SIGHUP,SIGTERM")
    assert result.returncode == 0, result.stderr
    assert "exiting reason=SIGTERM" in result.stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")


def test_a_sigterm_before_a_sighup_ends_the_plugin_without_a_rebuild(
    kubelet: FakeKubelet, sockdir: str
) -> None:
    result = run_signalled(sockdir, "SIGTERM,SIGHUP")
    assert result.returncode == 0, result.stderr
    assert "exiting reason=SIGTERM" in result.stderr and "rebuild reason" not in result.stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")


def test_a_sigterm_during_a_rebuild_stuck_in_nvml_ends_the_plugin_within_the_deadline(
    kubelet: FakeKubelet, sockdir: str
) -> None:
    """Before: the rebuild ran on the main thread, so SIGTERM waited for NVML's 30 s."""
    result = run_signalled(sockdir, "SIGHUP,SIGTERM", "slow-rebuild")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    rebuild = next(i for i, line in enumerate(lines) if "rebuild reason=sighup" in line)
    exiting = next(i for i, line in enumerate(lines) if "exiting reason=SIGTERM" in line)
    assert rebuild < exiting, result.stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
    assert kubelet.violations == []


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["--kubelet-socket", "kubelet.sock"], {}, "'kubelet.sock' is not an absolute path"),
        ([], {"KUBELET_SOCKET": "sock/kubelet.sock"}, "is not an absolute path (from environment variable"),
        (
            ["--kubelet-socket=", "--socket-dir", "."],
            {},
            "invalid --socket-dir option: '.' is not an absolute",
        ),
    ],
    ids=["relative", "relative-env", "relative-socket-dir"],
)
def test_a_socket_path_that_would_serve_in_the_working_directory_exits_2(
    sockdir: str, argv: list[str], env: dict[str, str], needle: str
) -> None:
    """Before: the plugin served nvidia-gpu.sock in its working directory, where no kubelet looks."""
    result = subprocess.run(
        [sys.executable, "-m", "plugin", "--nvml", "sim:1xT4", *argv],
        cwd=sockdir,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=20,
    )
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert os.listdir(sockdir) == []


@pytest.mark.parametrize(("argv", "env"), [(["--kubelet-socket="], {}), ([], {"KUBELET_SOCKET": ""})])
def test_an_empty_kubelet_socket_alone_serves_where_the_kubelet_looks_for_plugins(argv, env) -> None:
    """As NVIDIA's: never register, serve in /var/lib/kubelet/device-plugins (it served in the
    working directory, where no kubelet looks)."""
    config = load_config([*argv], env)
    assert config.kubelet_socket == ""
    assert config.socket_path("nvidia-gpu.sock") == "/var/lib/kubelet/device-plugins/nvidia-gpu.sock"


def test_an_empty_kubelet_socket_with_a_socket_dir_serves_without_registering(
    sockdir: str, kubelet: FakeKubelet, procs: list
) -> None:
    served = f"{sockdir}/served"
    os.mkdir(served)
    proc = run_plugin("--nvml", "sim:1xT4", "--kubelet-socket=", "--socket-dir", served)
    procs.append(proc)
    with grpc.insecure_channel(unix_target(f"{served}/nvidia-gpu.sock")) as channel:
        options = api_pb2_grpc.DevicePluginStub(channel).GetDevicePluginOptions(
            pb.Empty(), timeout=30, wait_for_ready=True
        )
    assert options.get_preferred_allocation_available
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "registered" not in stderr and kubelet.log.events(kind="register") == []


class _SilentKubelet(api_pb2_grpc.RegistrationServicer):
    """A kubelet whose Register never answers (until released)."""

    def __init__(self, socket_path: str) -> None:
        self.release = threading.Event()
        self.calls = threading.Event()
        self.server = grpc.server(ThreadPoolExecutor(max_workers=2))
        api_pb2_grpc.add_RegistrationServicer_to_server(self, self.server)  # type: ignore[no-untyped-call]
        self.server.add_insecure_port(unix_target(socket_path))
        self.server.start()

    def Register(self, request: pb.RegisterRequest, context: Any) -> pb.Empty:
        self.calls.set()
        self.release.wait()
        return pb.Empty()

    def close(self) -> None:
        self.release.set()
        self.server.stop(grace=None)


def test_a_sigterm_while_the_first_register_call_waits_ends_the_plugin(sockdir: str) -> None:
    """Register waits 60 s here (the kubelet dials us and asks our options before it answers).

    Before: start() ran on the main thread, so SIGTERM waited for Register's deadline.
    """
    kubelet = _SilentKubelet(f"{sockdir}/kubelet.sock")
    try:
        result = run_signalled(sockdir, "SIGTERM", "registering")
        assert kubelet.calls.is_set()
    finally:
        kubelet.close()
    assert result.returncode == 0, result.stderr
    assert "exiting reason=SIGTERM" in result.stderr and "registered" not in result.stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")


def test_ten_sighups_then_a_sigterm_are_handled_in_order_and_nothing_is_served_after(
    kubelet: FakeKubelet, sockdir: str
) -> None:
    """run() reads the signals in arrival order: each SIGHUP is folded into the waiting rebuild
    (main thread) or taken by the builder before the SIGTERM is read; a rebuild the builder began
    just before may log after ``exiting`` (the stop then abandons it), but serves nothing after
    ``stopped``."""
    result = run_signalled(sockdir, ",".join(["SIGHUP"] * 10 + ["SIGTERM"]))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()

    def where(needle: str) -> list[int]:
        return [i for i, line in enumerate(lines) if needle in line]

    exiting, stopped = where("exiting reason=SIGTERM"), where(" stopped")
    assert len(exiting) == 1 and len(stopped) == 1, result.stderr
    assert all(i < exiting[0] for i in where("rebuild-coalesced")), result.stderr
    assert all(i < stopped[0] for i in where("serving resource=")), result.stderr
    assert len(where(" rebuild reason=sighup")) + len(where("rebuild-coalesced")) <= 10
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
    assert "Traceback" not in result.stderr
    assert kubelet.violations == []


@pytest.mark.parametrize("kubelet_goes", ["deleted", "restarted"])
def test_a_kubelet_socket_deleted_or_recreated_as_the_plugin_stops_leaves_nothing_served(
    kubelet: FakeKubelet, sockdir: str, procs: list, kubelet_goes: str
) -> None:
    """SIGTERM while kubelet.sock goes (and comes back): no rebuild outlives the stop."""
    proc = run_plugin(
        "--nvml", "sim:2xH100", "--socket-dir", sockdir, "--kubelet-socket", f"{sockdir}/kubelet.sock"
    )
    procs.append(proc)
    kubelet.wait_for_registration(GPU, timeout=30)
    if kubelet_goes == "deleted":
        os.unlink(f"{sockdir}/kubelet.sock")
        proc.send_signal(signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
        kubelet.restart()  # removes our socket and kubelet.sock, then serves a new kubelet.sock
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "exiting reason=SIGTERM" in stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
    kubelet.wait_for_allocatable(GPU, 0)


def test_a_sighup_while_the_plugin_reads_its_flags_is_kept_for_after_the_start(
    kubelet: FakeKubelet, sockdir: str
) -> None:
    """Before: the handlers were installed once the manager existed; SIGHUP's default action killed
    the plugin (a config-manager that signals as the plugin starts)."""
    result = run_signalled(sockdir, "SIGTERM", "early-sighup")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    started = next(i for i, line in enumerate(lines) if "serving resource=" in line)
    rebuild = next(i for i, line in enumerate(lines) if "rebuild reason=sighup" in line)
    assert started < rebuild, result.stderr
    assert not os.path.exists(f"{sockdir}/nvidia-gpu.sock")
