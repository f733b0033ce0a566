"""What every launcher offers the steps: start, stop, restart, sighup, kill; running and exit code.

:class:`Launcher` is the seam (a ``Protocol``: steps, the runner and third-party launchers
registered under ``dp_harness.launchers`` type against it); :class:`LauncherBase` is the
bookkeeping our launchers share. Launchers report to the observation log as the ``"plugin"``
source: ``start``, one ``log`` event per output line (``line``), and ``exit`` (``code``) when
the plugin ends.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from harness.templating import Resolver
from plugin.nvmlapi import Nvml
from simkit import ObservationLog


class Unavailable(Exception):
    """This launcher cannot run here (e.g. no root for a mount namespace); the message says why."""


def simulated_only(kind: str) -> str:
    """The skip reason of a launcher that cannot reach the machine's GPUs (``real_nvml = False``)."""
    return f"the {kind} launcher runs on the simulated node only (not with --nvml real)"


def reaches_real_nvml(factory: object) -> bool:
    """Whether a launcher can run on ``--nvml real`` (third-party ones are assumed to)."""
    return bool(getattr(factory, "real_nvml", True))


@dataclass
class LaunchSpec:
    """Everything a launcher needs, already rendered for this scenario."""

    args: list[str]
    env: dict[str, str]
    socket_dir: str
    kubelet_socket: str
    nvml: Nvml | None = None  # the NVML object (in-process)
    nvml_endpoint: str = ""  # what {nvml} expands to (processes)
    command: str = ""
    scenario_dir: str = ""  # what {scenario_dir} expands to: the scenario file's folder
    image: str = ""  # the plugin's image (container launcher)
    manifest: str = ""  # a DaemonSet/Deployment/Pod manifest whose plugin container runs (container)
    name: str = "plugin"
    clock: Any = None  # the scenario clock: an in-process plugin times its probes and retries on it
    extra: dict[str, Any] = field(default_factory=dict)
    resolver: Resolver | None = None  # the scenario's templates ({gpu0.uuid}) in the command line


class Launcher(Protocol):
    """A plugin under test, as the steps drive it (``plugin: restart``) and conditions read it."""

    @property
    def running(self) -> bool: ...
    @property
    def exit_code(self) -> int | None:
        """How the plugin last ended (None while it runs or before it first starts)."""
        ...

    @property
    def starts(self) -> int: ...
    def start(self) -> None: ...
    def stop(self) -> None:
        """Graceful stop (SIGTERM or its equivalent); returns when the plugin has ended."""
        ...

    def kill(self) -> None:
        """Immediate stop without cleanup (SIGKILL or its equivalent)."""
        ...

    def restart(self) -> None: ...
    def sighup(self) -> None:
        """What SIGHUP does to NVIDIA's plugin: rebuild from a fresh look at the node."""
        ...

    def close(self) -> None:
        """Tear down whatever runs, quickly and without raising (the runner's teardown)."""
        ...


class LauncherFactory(Protocol):
    """What the launcher table holds: a launcher class, called with the spec and the scenario's log."""

    needs_command: bool

    def __call__(self, spec: LaunchSpec, log: ObservationLog) -> Launcher: ...


class LauncherBase:
    """Bookkeeping our launchers share: running / exit code and the plugin events."""

    needs_command: ClassVar[bool] = False  # True: runs plugin.command / --plugin-cmd
    # False: cannot hand the machine's GPUs to the plugin, so the run gate skips its cases on
    # --nvml real before any setup (and the counts of harness.gpu_counts leave them out).
    real_nvml: ClassVar[bool] = True

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        self.spec = spec
        self.log = log
        self.exit_code: int | None = None
        self.starts = 0

    @property
    def running(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def stop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def kill(self) -> None:
        self.stop()

    def sighup(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def restart(self) -> None:
        if self.running:
            self.stop()
        self.start()

    def close(self) -> None:
        """Tear down whatever runs, quickly and without raising."""
        if self.running:
            self.kill()

    def _started(self, **data: Any) -> None:
        self.exit_code = None
        self.starts += 1
        self.log.append("plugin", "start", **data)

    def _exited(self, code: int, **data: Any) -> None:
        self.exit_code = code
        self.log.append("plugin", "exit", code=code, **data)

    def _line(self, line: str, **data: Any) -> None:
        self.log.append("plugin", "log", line=line, **data)


# How long a plugin gets after SIGTERM before SIGKILL (a pod's terminationGracePeriodSeconds
# overrides it for the container launcher), and how long a kill may take to be seen.
STOP_TIMEOUT_S = 10.0


class SignalledLauncher(LauncherBase):
    """A plugin outside this process, ended by signals and read by one output thread: the stop
    (SIGTERM, then SIGKILL after the grace period), kill and SIGHUP the subprocess, namespace and
    container launchers share. A subclass says how a signal reaches its plugin (:meth:`_signal`)."""

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        super().__init__(spec, log)
        self._reader: threading.Thread | None = None  # reads the output; ends when the plugin does
        self.grace_s = STOP_TIMEOUT_S

    def _signal(self, sig: signal.Signals) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _join(self, timeout: float) -> bool:
        """Wait for the plugin's output to end (it has exited); False if it still runs."""
        reader = self._reader
        if reader is None:
            return True
        reader.join(timeout)
        return not reader.is_alive()

    def stop(self) -> None:
        if not self.running:
            return
        self._signal(signal.SIGTERM)
        if not self._join(self.grace_s):
            self._line(f"did not exit within {self.grace_s:g}s of SIGTERM; sending SIGKILL", level="harness")
            self.kill()

    def kill(self) -> None:
        if not self.running:
            return
        self._signal(signal.SIGKILL)
        self._join(STOP_TIMEOUT_S)

    def sighup(self) -> None:
        self._signal(signal.SIGHUP)
