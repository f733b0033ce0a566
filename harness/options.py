"""The options the CLI and the pytest plugin share, defined once so their help cannot drift."""

from __future__ import annotations

NVML_CHOICES = ("sim", "real")
NVML_HELP = "run scenarios on the simulated node (default) or on this machine's GPUs"
PLUGIN_CMD_HELP = (
    "run this plugin command line instead of ours in-process (placeholders {socket_dir} "
    "{kubelet_socket} {nvml} {python} {scenario_dir})"
)
