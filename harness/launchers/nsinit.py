"""Runs inside ``unshare -m``: build the plugin's world from the host's, then exec the command.

Usage: ``python -m harness.launchers.nsinit SOCKET_DIR SCRATCH [--dev DIR] [--proc-driver DIR]
[--sys-pci DIR] [--nvml LIBRARY] [--ready-fd FD] -- COMMAND...``. Everything happens in the private
mount namespace, so the host's mount table, /var/lib, /dev and /usr/lib are untouched:

- the socket dir goes to /var/lib/kubelet/device-plugins (when /var/lib/kubelet does not exist,
  /var/lib is covered by a tmpfs in which every original entry is linked back, through a bind
  mount of the original at SCRATCH, so only the new ``kubelet`` entry differs);
- ``--dev``: the faked device nodes are laid over /dev (a read-only overlay; the mounts under
  /dev, such as /dev/pts and /dev/shm, are bound back on top);
- ``--proc-driver`` and ``--sys-pci``: the driver's files and the GPUs' sysfs entries replace
  /proc/driver and /sys/bus/pci/devices;
- ``--nvml``: the shim appears as libnvidia-ml.so.1 in the system library folders, where an image
  or a plugin with a fixed library path looks (bound over a real driver's copy, or overlaid).
- ``--cdi-dir``: that folder is /var/run/cdi (NVIDIA writes its CDI specs there; /run is shadowed
  by a tmpfs with the original entries linked back when the host has no /run/cdi);
- ``--ready-fd``: a pipe the launcher reads; it is closed on exec, so the launcher knows when the
  process is the command and no longer this script (a signal sent before would end the script:
  a SIGHUP right after a start killed the plugin before it ran, under load).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys

TARGET = "/var/lib/kubelet/device-plugins"
LIBRARY_DIRS = (f"/usr/lib/{platform.machine()}-linux-gnu", "/usr/lib64")


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _shadow(top: str, original: str) -> None:
    """Cover ``top`` with a tmpfs in which every original entry is linked back (through a bind
    mount of the original at ``original``), so a new entry can be made there without touching the host."""
    os.makedirs(original, exist_ok=True)
    _mount("--bind", top, original)
    _mount("-t", "tmpfs", "tmpfs", top)
    for name in os.listdir(original):
        os.symlink(os.path.join(original, name), os.path.join(top, name))


def prepare(socket_dir: str, scratch: str) -> None:
    if not os.path.isdir(TARGET):
        if os.path.isdir("/var/lib/kubelet"):
            _mount("-t", "tmpfs", "tmpfs", "/var/lib/kubelet")
        else:
            _shadow("/var/lib", os.path.join(scratch, "var-lib"))
        os.makedirs(TARGET, exist_ok=True)
    _mount("--bind", socket_dir, TARGET)


def cdi_dir(folder: str, scratch: str) -> None:
    """``folder`` becomes /var/run/cdi, where NVIDIA's plugin writes its CDI specs (a fixed path)."""
    target = os.path.realpath("/var/run/cdi")
    if not os.path.isdir(target):
        _shadow(os.path.dirname(target), os.path.join(scratch, "run"))
        os.makedirs(target)
    _mount("--bind", folder, target)


def _submounts(top: str) -> list[str]:
    """Mount points directly below ``top`` (from /proc/self/mountinfo), outermost first."""
    found: list[str] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            point = line.split()[4]
            if os.path.dirname(point) == top and point not in found:
                found.append(point)
    return found


def fake_dev(dev: str, scratch: str) -> None:
    original = os.path.join(scratch, "dev")
    os.makedirs(original, exist_ok=True)
    below = _submounts("/dev")
    _mount("--rbind", "/dev", original)
    _mount("-t", "overlay", "overlay", "-o", f"lowerdir={dev}:/dev", "/dev")
    for point in below:
        inside = os.path.join(original, os.path.relpath(point, "/dev"))
        if os.path.isdir(point) and os.path.isdir(inside):
            _mount("--rbind", inside, point)


def place_library(library: str) -> None:
    for folder in LIBRARY_DIRS:
        if not os.path.isdir(folder):
            continue
        existing = os.path.join(folder, "libnvidia-ml.so.1")
        if os.path.exists(existing):  # a real driver's library: the shim shadows it here
            _mount("--bind", library, os.path.realpath(existing))
        else:
            _mount("-t", "overlay", "overlay", "-o", f"lowerdir={os.path.dirname(library)}:{folder}", folder)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.launchers.nsinit")
    parser.add_argument("socket_dir")
    parser.add_argument("scratch")
    parser.add_argument("--dev")
    parser.add_argument("--proc-driver")
    parser.add_argument("--sys-pci")
    parser.add_argument("--nvml")
    parser.add_argument("--ready-fd", type=int)
    parser.add_argument("--cdi-dir")
    if "--" not in argv:
        parser.error("no command: give it after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    if not command:
        parser.error("no command after --")
    try:
        prepare(args.socket_dir, args.scratch)
        if args.dev:
            fake_dev(args.dev, args.scratch)
        if args.proc_driver and os.path.isdir("/proc/driver"):
            _mount("--bind", args.proc_driver, "/proc/driver")
        if args.sys_pci and os.path.isdir("/sys/bus/pci/devices"):
            _mount("--bind", args.sys_pci, "/sys/bus/pci/devices")
        if args.nvml:
            place_library(args.nvml)
        if args.cdi_dir:
            cdi_dir(args.cdi_dir, args.scratch)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(
            f"harness: cannot prepare the mount namespace: {exc} {detail.decode().strip()}", file=sys.stderr
        )
        return 125
    if args.ready_fd is not None:
        os.set_inheritable(args.ready_fd, False)  # closed by the exec: the launcher's end reads EOF
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
