"""The in-process launcher ends its "process" the way ``python -m plugin`` would."""

from __future__ import annotations

import logging

import plugin
from harness.launchers import InProcessLauncher, LaunchSpec
from simkit import Clock, ObservationLog


class _FailingRebuild:
    def __init__(self) -> None:
        self.stopped = False

    def rebuild(self, reason: str) -> None:
        raise plugin.InitError("device discovery failed: GPU is lost (NVML error 15)")

    def stop(self) -> None:
        self.stopped = True


def _launcher() -> tuple[InProcessLauncher, ObservationLog]:
    clock = Clock()
    log = ObservationLog(clock)
    spec = LaunchSpec([], {}, "/tmp/unused-dp", "/tmp/unused-dp/kubelet.sock")
    return InProcessLauncher(spec, log), log


def test_a_sighup_rebuild_that_cannot_initialise_exits_1_instead_of_raising_into_the_step() -> None:
    launcher, log = _launcher()
    manager = _FailingRebuild()
    launcher.manager = manager
    launcher.sighup()
    assert not launcher.running and manager.stopped
    assert launcher.exit_code == 1
    assert [e.data["code"] for e in log.events(source="plugin", kind="exit")] == [1]
    assert any("GPU is lost" in e.data["line"] for e in log.events(source="plugin", kind="log"))


def test_after_close_late_plugin_lines_go_nowhere_not_to_stderr(capsys) -> None:
    launcher, _ = _launcher()
    launcher.close()
    launcher.logger.warning("registration-failed attempt=3")  # a plugin thread on its way out
    assert capsys.readouterr().err == ""
    assert all(isinstance(h, logging.NullHandler) for h in launcher.logger.handlers)
