"""The plugin's exceptions, each carrying a one-line message meant for the operator."""

from __future__ import annotations


class ConfigError(ValueError):
    """A bad flag, environment variable or config-file value; ``python -m plugin`` exits 2."""


class HelpRequested(Exception):
    """``--help`` was given; the message is the usage text."""


class InitError(RuntimeError):
    """NVML or device discovery failed at start with ``--fail-on-init-error``; exit 1."""


class AllocationError(ValueError):
    """An Allocate/GetPreferredAllocation request the plugin refuses (NVIDIA's wording)."""
