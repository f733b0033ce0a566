"""Our plugin on threads of this process: fast (no interpreter start), and the node is an object.

``plugin.load_config(argv, env)`` + ``plugin.PluginManager(config, nvml, logger)``; the logger's
lines become ``"plugin"`` ``log`` events. A config error ends the "process" with exit code 2
and an init error (``--fail-on-init-error``) with 1, as ``python -m plugin`` would.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

from harness.launchers.base import LauncherBase, LaunchSpec
from simkit import ObservationLog

_ids = itertools.count(1)


class _ToLog(logging.Handler):
    def __init__(self, launcher: LauncherBase) -> None:
        super().__init__(logging.DEBUG)
        self.launcher = launcher

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.launcher._line(record.getMessage(), level=record.levelname)
        except Exception:  # pragma: no cover - never let logging break the plugin
            self.handleError(record)


class InProcessLauncher(LauncherBase):
    """Runs ``plugin.PluginManager`` with the scenario's NVML object."""

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        super().__init__(spec, log)
        self.manager: Any = None
        self.logger = logging.getLogger(f"harness.plugin.{next(_ids)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.handlers[:] = [_ToLog(self)]

    @property
    def running(self) -> bool:
        return self.manager is not None

    def argv(self) -> list[str]:
        return [
            "--socket-dir",
            self.spec.socket_dir,
            "--kubelet-socket",
            self.spec.kubelet_socket,
            *self.spec.args,
        ]

    def start(self) -> None:
        if self.manager is not None:
            return
        import plugin

        argv = self.argv()
        self._started(argv=argv, launcher="inprocess")
        try:
            config = plugin.load_config(argv, dict(self.spec.env))
        except plugin.ConfigError as exc:
            self._line(f"gpu-device-plugin: {exc}", level="ERROR")
            self._exited(2)
            return
        if self.spec.nvml is None:
            raise RuntimeError("the in-process launcher needs the NVML object (LaunchSpec.nvml)")
        manager = plugin.PluginManager(config, self.spec.nvml, self.logger, clock=self.spec.clock)
        try:
            manager.start()
        except plugin.InitError as exc:
            self._line(f"gpu-device-plugin: {exc}", level="ERROR")
            self._exited(1)
            return
        self.manager = manager

    def stop(self) -> None:
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.stop()
            self._exited(0)

    def kill(self) -> None:
        """In-process there is no SIGKILL: the plugin stops at once (its sockets are removed too)."""
        manager, self.manager = self.manager, None
        if manager is not None:
            manager.stop()
            self._exited(-9, note="in-process kill = immediate stop")

    def sighup(self) -> None:
        if self.manager is None:
            return
        import plugin

        try:
            self.manager.rebuild("sighup")
        except plugin.InitError as exc:  # python -m plugin exits 1 when a rebuild cannot initialise
            manager, self.manager = self.manager, None
            manager.stop()
            self._line(f"gpu-device-plugin: {exc}", level="ERROR")
            self._exited(1)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            # Threads of the stopped plugin may still log on their way out; a NullHandler keeps
            # those lines from logging's last-resort handler (stderr) without a scenario to own them.
            self.logger.handlers[:] = [logging.NullHandler()]
