"""Our GPU device plugin: NVIDIA's k8s-device-plugin v0.20 behaviour, in Python, on any NVML.

In-process use::

    config = plugin.load_config(["--kubelet-socket", "/tmp/x/kubelet.sock"], env={})
    manager = plugin.PluginManager(config, nvml)   # nvml: pynvml, or anything with its surface
    manager.start(); ...; manager.stop()

``python -m plugin`` (console script ``gpu-device-plugin``) runs the same with signals.
See docs/plugin.md for flags, rules, the log format and where we differ from NVIDIA.
"""

from __future__ import annotations

from plugin.config import Config, load_config
from plugin.errors import AllocationError, ConfigError, InitError
from plugin.logfmt import LOGGER_NAME, format_event, parse_line
from plugin.manager import PluginManager
from plugin.xids import DEFAULT_IGNORED_XIDS, HealthChecks

__all__ = [
    "DEFAULT_IGNORED_XIDS",
    "LOGGER_NAME",
    "AllocationError",
    "Config",
    "ConfigError",
    "HealthChecks",
    "InitError",
    "PluginManager",
    "format_event",
    "load_config",
    "parse_line",
]
