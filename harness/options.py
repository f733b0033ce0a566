"""How scenarios run (:class:`RunOptions`), and the help text the CLI and the pytest plugin share."""

from __future__ import annotations

from dataclasses import dataclass

NVML_CHOICES = ("sim", "real")
NVML_HELP = "run scenarios on the simulated node (default) or on this machine's GPUs"
PLUGIN_CMD_HELP = (
    "run this plugin command line instead of ours in-process (placeholders {socket_dir} "
    "{kubelet_socket} {nvml} {python} {scenario_dir})"
)
PLUGIN_IMAGE_HELP = (
    "run this container image as the plugin, as NVIDIA's guide runs its image (container launcher; "
    "localhost/gpu-device-plugin:dev is ours, built from this checkout on first use)"
)
PLUGIN_MANIFEST_HELP = (
    "run the plugin container of this DaemonSet, Deployment or Pod manifest as the kubelet would "
    "(image, command/args, env, securityContext, the device-plugins hostPath); with --plugin-image, "
    "that image replaces the manifest's"
)


@dataclass
class RunOptions:
    """How to run scenarios: which NVML, and which plugin (default: ours, in-process)."""

    nvml: str = "sim"  # "sim" or "real"
    plugin_cmd: str | None = None  # run this command line (subprocess launcher) instead
    launcher: str | None = None  # force inprocess / subprocess / namespace / container
    plugin_image: str | None = None  # run this image (container launcher) instead
    plugin_manifest: str | None = None  # run this manifest's plugin container (container launcher)
