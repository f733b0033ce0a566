"""A pynvml drop-in that talks to a node served on a unix socket (``FakeNVML.connect``).

Every pynvml function name is a method that sends one request; each calling thread gets its
own connection, so one thread blocked in ``nvmlEventSetWait`` (which blocks on the server)
never delays another thread's queries. Constants and exception classes are pynvml's own.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import socket
import threading
import uuid as uuidlib
from typing import Any

import pynvml

from fake_nvml.api import pynvml_exports
from fake_nvml.codec import PROTOCOL, ConnectionClosed, decode, encode, recv_frame, send_frame
from fake_nvml.faults import family


class RemoteHandle:
    """A device handle of the served node; equal when the UUID is."""

    __slots__ = ("uuid",)

    def __init__(self, uuid: str) -> None:
        self.uuid = uuid

    def __eq__(self, other: object) -> bool:
        return getattr(other, "uuid", None) == self.uuid

    def __hash__(self) -> int:
        return hash(self.uuid)

    def __repr__(self) -> str:
        return f"<nvmlDevice {self.uuid} (remote)>"


class RemoteEventSet:
    __slots__ = ("id",)

    def __init__(self, set_id: int) -> None:
        self.id = set_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemoteEventSet) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<nvmlEventSet {self.id} (remote)>"


class NvmlClient:
    """pynvml's surface over the node protocol (docs/nvml-protocol.md)."""

    def __init__(self, path: str, *, timeout: float = 5.0) -> None:
        self.path = path
        self._timeout = timeout
        self._session = uuidlib.uuid4().hex
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._ids = itertools.count(1)
        self._closed = False
        self._inits = 0  # successful inits minus shutdowns, to answer as the shim does without a node
        self.functions: list[str] = self._connection_hello()  # fail fast with a clear message

    # -- connections -----------------------------------------------------------------------
    def _connection_hello(self) -> list[str]:
        try:
            self._socket()
        except pynvml.NVMLError as exc:
            raise ConnectionError(
                f"no simulated NVML node answers at {self.path} ({exc.__cause__}); start one with "
                "FakeNVML.from_spec(...).serve(path) or 'python -m fake_nvml serve'"
            ) from None
        return list(self._local.hello.get("functions", []))

    def _socket(self) -> socket.socket:
        current: socket.socket | None = getattr(self._local, "sock", None)
        if current is not None:
            return current
        if self._closed:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self._timeout)
        try:
            sock.connect(self.path)
            send_frame(sock, {"op": "hello", "id": 0, "protocol": PROTOCOL, "session": self._session})
            reply = recv_frame(sock)
        except (OSError, ConnectionClosed) as exc:
            sock.close()
            # Mid-run (the node went away) a plugin sees an NVML error, as if the driver vanished.
            error = pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN)
            error.unreachable = True
            raise error from exc
        if "error" in reply:
            sock.close()
            why = reply["error"].get("message")
            raise ConnectionError(f"the node at {self.path} refused this client: {why}")
        sock.settimeout(None)  # event waits block server-side for as long as they ask
        self._local.sock = sock
        self._local.hello = reply.get("ok", {})
        with self._lock:
            self._sockets.append(sock)
        return sock

    def close(self) -> None:
        """Close every connection of this client (threads blocked in a call get NVML_ERROR_UNKNOWN)."""
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # -- calls -----------------------------------------------------------------------------
    def request(self, op: str, **fields: Any) -> Any:
        """Send one message of the protocol and return its ``ok`` (NVML errors raise pynvml's class)."""
        sock = self._socket()
        try:
            send_frame(sock, {"op": op, "id": next(self._ids), **fields})
            reply = recv_frame(sock)
        except (OSError, ConnectionClosed):
            self._local.sock = None
            with self._lock:
                if sock in self._sockets:
                    self._sockets.remove(sock)
            sock.close()
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN) from None
        if "error" in reply:
            error = pynvml.NVMLError(int(reply["error"]["code"]))
            error.detail = str(reply["error"].get("message", ""))  # what the node said was wrong
            raise error
        return decode(reply.get("ok"), RemoteHandle, RemoteEventSet)

    def call(self, fn: str, *args: Any, **kwargs: Any) -> Any:
        """Call one pynvml function on the node; raise pynvml's exception class for an NVML error.

        With no node to answer, this behaves as the shim (and libnvidia-ml.so.1 without a loaded
        driver) does: init answers DRIVER_NOT_LOADED, other calls UNINITIALIZED, or UNKNOWN
        after a successful init; shutdown only counts down.
        """
        encoded_args = [encode(a) for a in args]
        encoded_kwargs = {k: encode(v) for k, v in kwargs.items()}
        base = family(fn)
        try:
            result = self.request("call", fn=fn, args=encoded_args, kwargs=encoded_kwargs)
        except pynvml.NVMLError as exc:
            if not getattr(exc, "unreachable", False):
                raise
            if base == "nvmlInit":
                raise pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED) from None
            if self._inits == 0:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED) from None
            if base != "nvmlShutdown":
                raise
            result = None
        with self._lock:
            self._inits += {"nvmlInit": 1, "nvmlShutdown": -1}.get(base, 0)
        return result

    def inject(self, fault: str, **args: Any) -> Any:
        """Make a fault of the catalogue (fake_nvml/injections.py) on the served node."""
        return self.request("inject", fault=fault, args=args)

    def status(self) -> dict[str, Any]:
        """The served node's GPUs (as ``FakeNVML.gpus`` fields) and its active call faults."""
        result: dict[str, Any] = self.request("status")
        return result

    def __getattr__(self, name: str) -> Any:
        if name.startswith("nvml") and inspect.isfunction(getattr(pynvml, name, None)):

            def remote(*args: Any, **kwargs: Any) -> Any:
                return self.call(name, *args, **kwargs)

            remote.__name__ = name
            remote.__doc__ = f"pynvml.{name} on the served node"
            self.__dict__[name] = remote
            return remote
        raise AttributeError(f"NvmlClient has no attribute {name!r} (nor does pynvml)")

    def __repr__(self) -> str:
        return f"<NvmlClient {self.path}>"


for _name, _value in pynvml_exports().items():
    if not hasattr(NvmlClient, _name):
        setattr(NvmlClient, _name, _value)
