"""A plugin process in a private mount namespace, with the scenario's socket dir at the real path.

For third-party plugins that hard-code ``/var/lib/kubelet/device-plugins``: ``unshare -m``
gives the process its own mount table, where :mod:`harness.launchers.nsinit` bind-mounts the
scenario's socket dir onto that path, then runs the command. On a simulated node the process
also sees the node's GPUs as a GPU host shows them: the NVML shim as the system's
``libnvidia-ml.so.1``, faked device nodes and driver files (:mod:`harness.launchers.gpuworld`).
The host's ``/var/lib/kubelet``, ``/dev`` and libraries are never touched. Needs root and
``unshare``; otherwise scenarios that ask for it are skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import subprocess
import sys
import time

from fake_nvml import shim
from harness.launchers import gpuworld
from harness.launchers.base import LaunchSpec, Unavailable
from harness.launchers.subprocess import SubprocessLauncher
from simkit import ObservationLog

DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
READY_TIMEOUT_S = 30.0  # nsinit's mounts before the exec (a loaded machine takes seconds)


@functools.cache
def namespace_support() -> str:
    """'' when private mount namespaces work here, else why not."""
    if os.geteuid() != 0:
        return "a private mount namespace needs root (run as root, or use the subprocess launcher)"
    unshare = shutil.which("unshare")
    if unshare is None:
        return "the 'unshare' command (util-linux) is not installed"
    probe = subprocess.run(
        [unshare, "-m", "--propagation", "private", "true"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if probe.returncode != 0:
        return f"'unshare -m' fails here (no CAP_SYS_ADMIN?): {probe.stderr.strip()}"
    return ""


class NamespaceLauncher(SubprocessLauncher):
    """``unshare -m`` + bind mount + the command; placeholders name the paths the plugin sees."""

    def __init__(self, spec: LaunchSpec, log: ObservationLog) -> None:
        reason = namespace_support()
        if reason:
            raise Unavailable(reason)
        super().__init__(spec, log)

    def placeholders(self) -> dict[str, str]:
        return {
            **super().placeholders(),
            "socket_dir": DEVICE_PLUGIN_DIR,
            "kubelet_socket": f"{DEVICE_PLUGIN_DIR}/kubelet.sock",
        }

    def start(self) -> None:
        """Start, and return once nsinit has exec'd the command (or exited): until then a signal
        would reach nsinit, not the plugin, and a stop or SIGHUP step would judge the launcher."""
        if self.running:
            return
        read_end, write_end = os.pipe()
        self.pass_fds = (write_end,)
        try:
            super().start()
        finally:
            os.close(write_end)
            self.pass_fds = ()
        try:
            if self.proc is not None and _wait_for_eof(read_end, READY_TIMEOUT_S):
                self.log.append("plugin", "exec")  # the command runs from here: a launch's own time
        finally:
            os.close(read_end)

    def argv(self) -> list[str]:
        inner = [*self.command_argv(), *self.spec.args]
        scratch = self._scratch()
        ready = ["--ready-fd", str(self.pass_fds[0])] if self.pass_fds else []
        return [
            shutil.which("unshare") or "unshare",
            "-m",
            "--propagation",
            "private",
            sys.executable,
            "-m",
            "harness.launchers.nsinit",
            self.spec.socket_dir,
            scratch,
            *self.world_options(scratch),
            *ready,
            "--",
            *inner,
        ]

    def world_options(self, scratch: str) -> list[str]:
        """nsinit's options for the simulated node's world (none on real NVML: the host's is real)."""
        gpus = getattr(self.spec.nvml, "gpus", None)
        if not self.spec.nvml_endpoint.startswith("connect:") or gpus is None:
            return []
        world = gpuworld.build(os.path.join(scratch, "world"), gpus)
        cdi = os.path.join(os.path.dirname(scratch), "cdi")  # beside the socket dir, as DP_CDI_ROOT is
        os.makedirs(cdi, exist_ok=True)
        options = ["--dev", world.dev, "--proc-driver", world.proc_driver, "--sys-pci", world.sys_pci]
        options += ["--cdi-dir", cdi]
        if self.library_missing():
            return options  # a node without NVML: no library anywhere
        try:
            library = shim.library_path()
        except shim.ShimUnavailable:
            return options  # the subprocess launcher already said why there is no shim
        driver_version = str(getattr(self.spec.nvml, "driver_version", ""))
        gpuworld.driver_root(world.driver, library, driver_version)
        return [*options, "--nvml", library]

    def shim_env(self) -> dict[str, str]:
        """The shim, and the world's driver root as the container driver root (NVIDIA's DaemonSet
        mounts the host's at /driver-root; its CDI strategies look for the driver's libraries there).
        A scenario's own CONTAINER_DRIVER_ROOT or --driver-root-ctr-path wins."""
        env = super().shim_env()
        driver = os.path.join(self._scratch(), "world", "driver")
        if env and os.path.isdir(driver):
            env["CONTAINER_DRIVER_ROOT"] = driver
        return env

    def _scratch(self) -> str:
        return os.path.join(os.path.dirname(self.spec.socket_dir.rstrip("/")), "ns")


def _wait_for_eof(fd: int, timeout: float) -> bool:
    """Read ``fd`` until its writer is gone (nsinit exec'd or exited): True; False when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready and not os.read(fd, 512):
            return True
    return False
