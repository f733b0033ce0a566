"""A native ``libnvidia-ml.so.1`` that serves a simulated node to any process (issue 11).

Unmodified NVML consumers (NVIDIA's Go plugin through go-nvml, the real ``pynvml`` module, C
programs) load it instead of the driver's library; each NVML call becomes one request over the
node protocol (docs/nvml-protocol.md) to the node named by ``FAKE_NVML_SOCKET``. The C source
lives next to this file; the parts that follow from pynvml are generated (``generate.py``).

``library_path()`` builds the library on first use; ``environment(socket)`` is what a process
needs in its environment to use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fake_nvml.shim import generate
from fake_nvml.shim.build import LIBRARY, ShimUnavailable, library_path
from fake_nvml.shim.generate import SOCKET_ENV, TRACE_ENV


def environment(socket: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables that make a process load the shim and reach the node at ``socket``."""
    base = os.environ if base is None else base
    directory = os.path.dirname(library_path())
    search = os.pathsep.join(p for p in (directory, base.get("LD_LIBRARY_PATH", "")) if p)
    return {"LD_LIBRARY_PATH": search, SOCKET_ENV: socket}


__all__ = ["LIBRARY", "SOCKET_ENV", "TRACE_ENV", "ShimUnavailable", "environment", "generate", "library_path"]
