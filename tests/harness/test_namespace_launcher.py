"""The namespace launcher hands over a process that is the plugin, not its nsinit set-up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.launchers import namespace
from harness.launchers.base import LaunchSpec
from simkit import ObservationLog

pytestmark = pytest.mark.skipif(bool(namespace.namespace_support()), reason=namespace.namespace_support())


def test_start_returns_once_the_command_runs_so_a_signal_reaches_the_plugin(tmp_path: Path) -> None:
    # nsinit's mounts take tens of ms (seconds under load); a SIGHUP sent before its exec ended
    # nsinit (exit -1), which a case read as the plugin dying on SIGHUP.
    socket_dir = tmp_path / "dp"
    socket_dir.mkdir()
    sleep = shutil.which("sleep") or "/bin/sleep"
    spec = LaunchSpec(
        args=[],
        env={},
        socket_dir=str(socket_dir),
        kubelet_socket=str(socket_dir / "kubelet.sock"),
        command=f"{sleep} 30",
    )
    log = ObservationLog()
    launcher = namespace.NamespaceLauncher(spec, log)
    try:
        launcher.start()
        assert launcher.proc is not None
        # the exec is logged, after the start: harness diff times the plugin from there
        assert [e.kind for e in log.events("plugin")] == ["start", "exec"]
        assert os.readlink(f"/proc/{launcher.proc.pid}/exe") == os.path.realpath(sleep)
        launcher.sighup()  # sleep dies of it: the signal reached the command itself
        launcher.proc.wait(5)
        assert launcher.proc.returncode == -1
    finally:
        launcher.close()


def test_a_command_that_cannot_start_does_not_hang_the_start(tmp_path: Path) -> None:
    socket_dir = tmp_path / "dp"
    socket_dir.mkdir()
    spec = LaunchSpec(
        args=[],
        env={},
        socket_dir=str(socket_dir),
        kubelet_socket=str(socket_dir / "kubelet.sock"),
        command="/nonexistent/plugin",
    )
    launcher = namespace.NamespaceLauncher(spec, ObservationLog())
    try:
        launcher.start()  # nsinit's execvp fails: the pipe closes as nsinit exits
        assert launcher.proc is not None
        assert launcher.proc.wait(5) != 0
    finally:
        launcher.close()
