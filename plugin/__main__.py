"""``python -m plugin`` / ``gpu-device-plugin``: the composition root.

This is the only plugin module that may import the fakes: ``--nvml sim:<spec>`` builds a
simulated node in this process and ``--nvml connect:<socket>`` talks to a node served by another
process (e.g. the harness). The core only ever sees "an object with pynvml's surface".

Exit codes: 0 after SIGTERM/SIGINT/SIGQUIT, 1 when NVML or discovery fails with
``--fail-on-init-error``, 2 for a bad flag, environment variable or config value, or a socket
directory that is missing, not a directory, not writable or too long for a socket path.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from plugin.config import Config, check_socket_dirs, load_config
from plugin.errors import ConfigError, HelpRequested, InitError
from plugin.logfmt import LOGGER_NAME
from plugin.manager import SIGNAL_COMMANDS, PluginManager
from plugin.roots import resolve_library

PROG = "gpu-device-plugin"


def make_nvml(spec: str, ctr_driver_root: str = "/") -> Any:
    """The NVML object for ``--nvml``: the pynvml module, a simulated node, or a remote one.

    With ``real``, ``libnvidia-ml.so.1`` is loaded from under ``--driver-root-ctr-path`` when it is
    there, as NVIDIA's plugin does (``nvml.WithLibraryPath``).
    """
    if spec == "real":
        import ctypes

        import pynvml

        library = resolve_library(ctr_driver_root)
        if library != "libnvidia-ml.so.1" and getattr(pynvml, "nvmlLib", None) is None:
            pynvml.nvmlLib = ctypes.CDLL(library)
        return pynvml
    from fake_nvml import FakeNVML  # composition root only (see pyproject's import contracts)

    if spec.startswith("sim:"):
        return FakeNVML.from_spec(spec[len("sim:") :])
    if spec.startswith("connect:"):
        return FakeNVML.connect(spec[len("connect:") :])
    raise ConfigError(f"invalid --nvml option: {spec!r} (expected real, sim:<spec> or connect:<socket>)")


def make_logger() -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _install_signals(manager: PluginManager) -> None:
    """Route SIGHUP/SIGTERM/SIGINT/SIGQUIT to ``manager.run()`` through its wake-up pipe.

    CPython's C-level handler writes each signal's number to ``manager.signal_fd`` the moment it
    arrives, on whichever thread the kernel chose, so run() wakes and acts in arrival order. The
    Python-level handler does nothing: it runs only when the main thread next executes bytecode,
    which is never while it waits (a SIGTERM landing on a gRPC thread right after a SIGHUP was
    lost, and the plugin kept serving).
    """

    def noted(signum: int, frame: Any) -> None:
        """Nothing to do: the wake-up byte already told run()."""

    signal.set_wakeup_fd(manager.signal_fd, warn_on_full_buffer=False)
    for sig in SIGNAL_COMMANDS:
        signal.signal(sig, noted)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        config: Config = load_config(args, os.environ)
        nvml = make_nvml(config.nvml, config.driver_root_ctr_path)
        check_socket_dirs(config)
    except HelpRequested as usage:
        print(usage, file=sys.stdout)
        return 0
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bad sim spec, an unreachable node socket, a missing pynvml
        print(f"{PROG}: invalid --nvml option {config.nvml!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    manager = PluginManager(config, nvml, make_logger())
    _install_signals(manager)
    try:
        manager.run()
    except InitError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
