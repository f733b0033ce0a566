"""Any plugin as a process: a command line with ``{socket_dir}``, ``{kubelet_socket}``, ``{nvml}``
(and ``{python}``, the harness's interpreter, and ``{scenario_dir}``, the scenario file's folder).

``{nvml}`` expands to ``connect:<tmp>/nvml.sock``, where the runner serves the scenario's
simulated node, so faults injected by the scenario reach the plugin process. Output (stdout
and stderr) becomes one ``"plugin"`` ``log`` event per line; the exit code an ``exit`` event.
The scenario's ``plugin.args`` are appended to the command line and ``plugin.env`` is added to
the environment.

Every plugin process also gets the NVML shim (``fake_nvml.shim``): ``LD_LIBRARY_PATH`` finds the
shim's ``libnvidia-ml.so.1`` first and ``FAKE_NVML_SOCKET`` names the served node, so a plugin
that loads NVML itself (NVIDIA's, or ours with ``--nvml real``) sees the simulated node too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from fake_nvml import shim
from harness.launchers.base import LaunchSpec, SignalledLauncher
from harness.templating import PlainValues, render_argv
from simkit import ObservationLog


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The plugin process' environment: ours, unbuffered output, the harness's Python first on
    PATH (so ``python -m plugin`` means the interpreter that has this project installed, as in
    a virtualenv), then the scenario's own variables."""
    path = os.pathsep.join(p for p in (os.path.dirname(sys.executable), os.environ.get("PATH", "")) if p)
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PATH": path, **extra}


class SubprocessLauncher(SignalledLauncher):
    needs_command = True

    """Runs a command in its own process group; stop = SIGTERM (then SIGKILL after 10 s)."""

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        super().__init__(spec, log)
        self.proc: subprocess.Popen[str] | None = None
        self.pass_fds: tuple[int, ...] = ()  # descriptors the process inherits (the namespace launcher's)

    def placeholders(self) -> dict[str, str]:
        return {
            "socket_dir": self.spec.socket_dir,
            "kubelet_socket": self.spec.kubelet_socket,
            "nvml": self.spec.nvml_endpoint,
            "python": sys.executable,
            "scenario_dir": self.spec.scenario_dir,
        }

    def command_argv(self) -> list[str]:
        """The command line with its templates rendered (the scenario's, under our plain values)."""
        return render_argv(self.spec.command, PlainValues(self.placeholders(), self.spec.resolver))

    def argv(self) -> list[str]:
        return [*self.command_argv(), *self.spec.args]

    def shim_env(self) -> dict[str, str]:
        """What makes the process load the NVML shim and reach the scenario's node (none on real NVML)."""
        endpoint = self.spec.nvml_endpoint
        if not endpoint.startswith("connect:") or self.library_missing():
            return {}
        try:
            return shim.environment(endpoint.removeprefix("connect:"))
        except shim.ShimUnavailable as exc:
            self._line(f"the plugin gets no NVML shim: {exc}", level="harness")
            return {}

    def library_missing(self) -> bool:
        """The node's nvmlInit fails with LIBRARY_NOT_FOUND as the process starts: then it gets no
        shim, so a plugin that loads NVML itself cannot load it, as on a node without a driver (NVIDIA's
        platform detection dlopens libnvidia-ml.so.1; an error from nvmlInit alone would not do). A
        process keeps what it started with: clearing the fault takes a restart, not a SIGHUP."""
        return bool(getattr(self.spec.nvml, "library_missing", False))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.exit_code is None

    def start(self) -> None:
        if self.running:
            return
        argv = self.argv()
        env = child_env({**self.shim_env(), **self.spec.env})
        self._started(argv=argv, launcher=type(self).__name__)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                bufsize=1,
                start_new_session=True,
                errors="replace",
                pass_fds=self.pass_fds,
            )
        except OSError as exc:
            self._line(f"cannot start {argv[0]!r}: {exc}", level="ERROR")
            self._exited(127)
            return
        self.proc = proc
        self._reader = threading.Thread(target=self._read, args=(proc,), name="plugin-output", daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._line(line.rstrip("\n"))
        code = proc.wait()
        if proc is self.proc:
            self._exited(code)

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.exit_code is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        if self.running:
            self.kill()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
