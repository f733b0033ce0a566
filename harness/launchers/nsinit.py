"""Runs inside ``unshare -m``: put the socket dir at /var/lib/kubelet/device-plugins, then exec.

Usage: ``python -m harness.launchers.nsinit SOCKET_DIR SCRATCH -- COMMAND...``. Everything here
happens in the private mount namespace, so the host's mount table and /var/lib are untouched.
When /var/lib/kubelet does not exist, /var/lib is covered by a tmpfs in which every original
entry is linked back (through a bind mount of the original at SCRATCH), so only the new
``kubelet`` entry differs.
"""

from __future__ import annotations

import os
import subprocess
import sys

TARGET = "/var/lib/kubelet/device-plugins"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def prepare(socket_dir: str, scratch: str) -> None:
    if not os.path.isdir(TARGET):
        if os.path.isdir("/var/lib/kubelet"):
            _mount("-t", "tmpfs", "tmpfs", "/var/lib/kubelet")
        else:
            os.makedirs(scratch, exist_ok=True)
            _mount("--bind", "/var/lib", scratch)
            _mount("-t", "tmpfs", "tmpfs", "/var/lib")
            for name in os.listdir(scratch):
                os.symlink(os.path.join(scratch, name), os.path.join("/var/lib", name))
        os.makedirs(TARGET, exist_ok=True)
    _mount("--bind", socket_dir, TARGET)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python -m harness.launchers.nsinit SOCKET_DIR SCRATCH -- COMMAND...", file=sys.stderr)
        return 2
    socket_dir, scratch, command = argv[0], argv[1], argv[3:]
    try:
        prepare(socket_dir, scratch)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"harness: cannot prepare the mount namespace: {exc}", file=sys.stderr)
        return 125
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
