"""MPS sharing: where the MPS control daemon's pipe and shm live, and whether the daemon answers.

NVIDIA's plugin (v0.20 internal/plugin/mps.go) does not start the daemon: its mps-control-daemon
sidecar does, under ``--mps-root`` on the host, mounted at ``/mps`` in the plugin's container.
Before a resource is served the plugin asks the daemon for its default active thread percentage
through ``nvidia-cuda-mps-control``; when that fails the start fails and is retried after 30 s.
Allocate then hands the container the daemon's pipe directory and shm.

The check is a seam (:class:`MpsDaemon`): the default runs the control command as NVIDIA does;
a simulation answers for a simulated daemon (the harness puts a stand-in command on PATH).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Protocol

CONTAINER_ROOT = "/mps"  # where NVIDIA's DaemonSet mounts --mps-root inside the plugin's container
CONTROL_COMMAND = "nvidia-cuda-mps-control"
HEALTH_QUERY = "get_default_active_thread_percentage"
PIPE_ENV = "CUDA_MPS_PIPE_DIRECTORY"
LOG_ENV = "CUDA_MPS_LOG_DIRECTORY"
SHM_CONTAINER_PATH = "/dev/shm"
CHECK_TIMEOUT_S = 5.0


class MpsError(RuntimeError):
    """The MPS control daemon of a resource does not answer (NVIDIA's message)."""


def pipe_dir(root: str, resource: str) -> str:
    return os.path.join(root, resource, "pipe")


def log_dir(root: str, resource: str) -> str:
    return os.path.join(root, resource, "log")


def shm_dir(root: str) -> str:
    return os.path.join(root, "shm")


class MpsDaemon(Protocol):
    def assert_healthy(self, resource: str) -> None:
        """Raise :class:`MpsError` unless the daemon serving ``resource`` answers."""


class ControlCommand:
    """Asks the daemon through ``nvidia-cuda-mps-control``, found on the plugin's PATH."""

    def __init__(self, root: str = CONTAINER_ROOT, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.path = (env or {}).get("PATH", os.defpath)

    def assert_healthy(self, resource: str) -> None:
        binary = shutil.which(CONTROL_COMMAND, path=self.path)
        if binary is None:
            raise MpsError(
                "error checking MPS daemon health: failed to start NVIDIA MPS command: "
                f'exec: "{CONTROL_COMMAND}": executable file not found in $PATH'
            )
        env = {
            "PATH": self.path,
            PIPE_ENV: pipe_dir(self.root, resource),
            LOG_ENV: log_dir(self.root, resource),
        }
        try:
            done = subprocess.run(
                [binary],
                input=HEALTH_QUERY,
                env=env,
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MpsError(
                f"error checking MPS daemon health: failed to send command to MPS daemon: {exc}"
            ) from None
        if done.returncode != 0:
            raise MpsError(
                "error checking MPS daemon health: failed to send command to MPS daemon: "
                f"exit status {done.returncode}"
            )
