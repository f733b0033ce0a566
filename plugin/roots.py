"""The driver root as the plugin's own container sees it (``--driver-root-ctr-path``).

NVIDIA's v0.20 (cmd/nvidia-device-plugin/root.go) uses it twice: to find ``libnvidia-ml.so.1``
(so NVML loads from the host's driver, not the image), and as the plugin's own dev root when it
holds a ``dev`` folder (IMEX channels, CDI device nodes); the host paths handed to the kubelet stay
under ``--driver-root`` / ``--dev-root``.
"""

from __future__ import annotations

import os

LIBRARY_SEARCH_PATHS = (
    "/usr/lib64",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
)


def container_dev_root(ctr_driver_root: str) -> str:
    """The container driver root when it holds a ``dev`` folder, else ``/`` (NVIDIA's getDevRoot)."""
    return ctr_driver_root if os.path.isdir(os.path.join(ctr_driver_root, "dev")) else "/"


def resolve_library(ctr_driver_root: str, name: str = "libnvidia-ml.so.1") -> str:
    """The library under the container driver root (symlinks resolved), or the bare name."""
    if ctr_driver_root in ("", "/"):
        return name
    for directory in LIBRARY_SEARCH_PATHS:
        candidate = os.path.join(ctr_driver_root, directory.lstrip("/"), name)
        if os.path.exists(candidate):
            return os.path.realpath(candidate)
    return name
