"""How scenarios run (:class:`RunOptions`), and the help text the CLI and the pytest plugin share."""

from __future__ import annotations

from dataclasses import dataclass

NVML_CHOICES = ("sim", "real")
NVML_HELP = "run scenarios on the simulated node (default) or on this machine's GPUs"
PLUGIN_CMD_HELP = (
    "run this plugin command line instead of ours in-process (placeholders {socket_dir} "
    "{kubelet_socket} {nvml} {python} {scenario_dir})"
)


@dataclass
class RunOptions:
    """How to run scenarios: which NVML, and which plugin (default: ours, in-process)."""

    nvml: str = "sim"  # "sim" or "real"
    plugin_cmd: str | None = None  # run this command line (subprocess launcher) instead
    launcher: str | None = None  # force inprocess / subprocess / namespace
