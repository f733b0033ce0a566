"""Ways to run the plugin under test: in-process (ours), subprocess (any command), private mount
namespace, container (an image, as its DaemonSet runs it)."""

from harness.launchers.base import Launcher, LaunchSpec, Unavailable
from harness.launchers.container import ContainerLauncher
from harness.launchers.inprocess import InProcessLauncher
from harness.launchers.namespace import NamespaceLauncher, namespace_support
from harness.launchers.subprocess import SubprocessLauncher

__all__ = [
    "ContainerLauncher",
    "InProcessLauncher",
    "LaunchSpec",
    "Launcher",
    "NamespaceLauncher",
    "SubprocessLauncher",
    "Unavailable",
    "namespace_support",
]
