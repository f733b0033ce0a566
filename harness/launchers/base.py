"""What every launcher offers the steps: start, stop, restart, sighup, kill; running and exit code.

Launchers report to the observation log as the ``"plugin"`` source: ``start``, one ``log``
event per output line (``line``), and ``exit`` (``code``) when the plugin ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.templating import Resolver
from simkit import ObservationLog


class Unavailable(Exception):
    """This launcher cannot run here (e.g. no root for a mount namespace); the message says why."""


@dataclass
class LaunchSpec:
    """Everything a launcher needs, already rendered for this scenario."""

    args: list[str]
    env: dict[str, str]
    socket_dir: str
    kubelet_socket: str
    nvml: Any = None  # the NVML object (in-process)
    nvml_endpoint: str = ""  # what {nvml} expands to (processes)
    command: str = ""
    scenario_dir: str = ""  # what {scenario_dir} expands to: the scenario file's folder
    image: str = ""  # the plugin's image (container launcher)
    manifest: str = ""  # a DaemonSet/Deployment/Pod manifest whose plugin container runs (container)
    name: str = "plugin"
    clock: Any = None  # the scenario clock: an in-process plugin times its probes and retries on it
    extra: dict[str, Any] = field(default_factory=dict)
    resolver: Resolver | None = None  # the scenario's templates ({gpu0.uuid}) in the command line


class Launcher:
    """Base class: bookkeeping of running / exit code and the plugin events."""

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
