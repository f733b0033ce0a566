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
import threading
from collections.abc import Callable, Sequence
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


def _route_signals(wakeup_fd: int) -> Callable[[], None]:
    """Route SIGHUP/SIGTERM/SIGINT/SIGQUIT into ``wakeup_fd`` (the manager's wake-up pipe).

    CPython's C-level handler writes each signal's number there the moment it arrives, on
    whichever thread the kernel chose, so run() wakes and acts in arrival order. The Python-level
    handler does nothing: it runs only when the main thread next executes bytecode, which is never
    while it waits (a SIGTERM landing on a gRPC thread right after a SIGHUP was lost, and the
    plugin kept serving). Done first in main(): a SIGHUP while we parse flags, build the NVML
    object or start waits in the pipe instead of killing us (SIGHUP's default action). Returns
    what puts the previous handlers back (main() may be called in-process, e.g. by tests).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def noted(signum: int, frame: Any) -> None:
        """Nothing to do: the wake-up byte already told run()."""

    previous_fd = signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
    previous = {sig: signal.signal(sig, noted) for sig in SIGNAL_COMMANDS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    wakeup = os.pipe()
    os.set_blocking(wakeup[1], False)
    restore = _route_signals(wakeup[1])
    made: list[PluginManager] = []
    try:
        return _main(args, wakeup, made)
    finally:
        restore()  # first: no signal may write to the pipe once it is closed
        for manager in made:
            manager.close()
        if not made:
            for fd in wakeup:
                os.close(fd)


def _main(args: list[str], wakeup: tuple[int, int], made: list[PluginManager]) -> int:
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
    manager = PluginManager(config, nvml, make_logger(), wakeup=wakeup)
    made.append(manager)
    try:
        manager.run()
    except InitError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
