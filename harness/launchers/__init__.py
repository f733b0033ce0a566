"""Ways to run the plugin under test: the launcher table.

Built in: ``inprocess`` (ours, on threads of this process), ``subprocess`` (any command line),
``namespace`` (a command in a private mount namespace) and ``container`` (an image, as its
DaemonSet runs it). Installed packages add launchers
through the ``dp_harness.launchers`` entry-point group (see :mod:`harness.extensions`); the
table drives the scenario schema (``plugin.launcher``), ``--launcher`` and the runner.
"""

from __future__ import annotations

import functools

from harness.extensions import LAUNCHERS, load_group
from harness.launchers.base import Launcher, LauncherBase, LauncherFactory, LaunchSpec, Unavailable
from harness.launchers.container import ContainerLauncher
from harness.launchers.inprocess import InProcessLauncher
from harness.launchers.namespace import NamespaceLauncher, namespace_support
from harness.launchers.subprocess import SubprocessLauncher

BUILTIN: dict[str, LauncherFactory] = {
    "inprocess": InProcessLauncher,
    "subprocess": SubprocessLauncher,
    "namespace": NamespaceLauncher,
    "container": ContainerLauncher,
}


def _factory(obj: object) -> LauncherFactory | None:
    return obj if isinstance(obj, type) and callable(obj) and hasattr(obj, "needs_command") else None  # type: ignore[return-value]


@functools.cache
def launchers() -> dict[str, LauncherFactory]:
    """Every launcher by name: the built-in ones, then those installed packages register."""
    return load_group(LAUNCHERS, BUILTIN, _factory)


__all__ = [
    "BUILTIN",
    "ContainerLauncher",
    "InProcessLauncher",
    "LaunchSpec",
    "Launcher",
    "LauncherBase",
    "LauncherFactory",
    "NamespaceLauncher",
    "SubprocessLauncher",
    "Unavailable",
    "launchers",
    "namespace_support",
]
