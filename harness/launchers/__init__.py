"""Ways to run the plugin under test: in-process (ours), subprocess (any command), private mount namespace."""

from harness.launchers.base import Launcher, LaunchSpec, Unavailable
from harness.launchers.inprocess import InProcessLauncher
from harness.launchers.namespace import NamespaceLauncher, namespace_support
from harness.launchers.subprocess import SubprocessLauncher

__all__ = [
    "InProcessLauncher",
    "LaunchSpec",
    "Launcher",
    "NamespaceLauncher",
    "SubprocessLauncher",
    "Unavailable",
    "namespace_support",
]
