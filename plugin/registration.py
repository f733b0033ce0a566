"""Registering a resource with the kubelet, and retrying with capped backoff while it is absent.

``Register`` is synchronous in the kubelet: it dials our socket and calls GetDevicePluginOptions
before answering, so our server must be serving first (see :mod:`plugin.server`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import grpc

from deviceplugin.v1beta1 import VERSION, api_pb2_grpc, unix_target
from deviceplugin.v1beta1 import api_pb2 as pb
from plugin.clock import Clock, RealClock, Stopper
from plugin.logfmt import EventLogger

# Reconnect quickly: the kubelet's socket appears (inotify) a moment before it accepts.
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 10),
    ("grpc.min_reconnect_backoff_ms", 10),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class RegistrationError(RuntimeError):
    pass


def register(kubelet_socket: str, resource_name: str, endpoint: str, timeout: float) -> None:
    """One Register call; raises RegistrationError with the kubelet's answer or why it failed."""
    request = pb.RegisterRequest(
        version=VERSION,
        endpoint=endpoint,
        resource_name=resource_name,
        options=pb.DevicePluginOptions(pre_start_required=False, get_preferred_allocation_available=True),
    )
    try:
        with grpc.insecure_channel(unix_target(kubelet_socket), options=_CHANNEL_OPTIONS) as channel:
            api_pb2_grpc.RegistrationStub(channel).Register(  # type: ignore[no-untyped-call]
                request, timeout=timeout
            )
    except grpc.RpcError as exc:
        raise RegistrationError(f"{exc.code().name}: {exc.details()}") from None


class Registrar:
    """Registers a list of resources, retrying failed ones in a background thread until stopped."""

    def __init__(
        self,
        kubelet_socket: str,
        targets: Sequence[tuple[str, str]],  # (resource name, endpoint = socket file name)
        events: EventLogger,
        *,
        timeout: float = 5.0,
        backoff_initial: float = 0.05,
        backoff_cap: float = 5.0,
        on_registered: Callable[[str], None] = lambda name: None,
        still_wanted: Callable[[], bool] = lambda: True,
        clock: Clock | None = None,
    ) -> None:
        self._socket = kubelet_socket
        self._pending = list(targets)
        self._log = events
        self._timeout = timeout
        self._initial = backoff_initial
        self._cap = backoff_cap
        self._on_registered = on_registered
        self._still_wanted = still_wanted
        self._stop = Stopper(clock or RealClock())
        self._thread: threading.Thread | None = None

    def _attempt(self, attempt: int, retry_in: float | None) -> None:
        still = []
        for name, endpoint in self._pending:
            if self._stop.is_set():
                return
            if not self._still_wanted():
                self._log.info(
                    "registration-abandoned",
                    resource=name,
                    note="our socket or generation is gone; a rebuild registers anew",
                )
                self._pending = []
                return
            try:
                register(self._socket, name, endpoint, self._timeout)
            except RegistrationError as exc:
                self._log.warning(
                    "registration-failed",
                    resource=name,
                    kubelet=self._socket,
                    attempt=attempt,
                    error=str(exc),
                    retry_in=None if retry_in is None else f"{retry_in:g}s",
                )
                still.append((name, endpoint))
                continue
            self._log.info("registered", resource=name, endpoint=endpoint, kubelet=self._socket)
            self._on_registered(name)
        self._pending = still

    def start(self) -> None:
        """Try once now (in the caller's thread); keep retrying the failures in the background."""
        self._attempt(1, self._initial)
        if self._pending and not self._stop.is_set():
            self._thread = threading.Thread(target=self._retry, name="plugin-register", daemon=True)
            self._thread.start()

    def _retry(self) -> None:
        delay = self._initial
        attempt = 1
        while self._pending and not self._stop.wait(delay):
            attempt += 1
            delay = min(self._cap, delay * 2)
            self._attempt(attempt, delay)

    def stop(self) -> None:
        self._stop.set()

    @property
    def pending(self) -> list[str]:
        return [name for name, _ in self._pending]
