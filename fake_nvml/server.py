"""Serve a simulated node on a unix socket, so a plugin in another process sees it.

One thread per connection, requests on a connection answered in order: a blocking
``nvmlEventSetWait`` blocks only its own connection (clients open one per thread). The
accept loop waits on the listener and a wake-up pipe, so ``close()`` returns at once; waits
in progress are woken and answered with NVML_ERROR_UNKNOWN, then every thread ends.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import stat
import threading
from typing import Any

import pynvml

from fake_nvml.api import NvmlSurface, Simulation, surface_functions
from fake_nvml.codec import PROTOCOL, ConnectionClosed, decode, encode, recv_frame, send_frame
from fake_nvml.events import EventSet
from fake_nvml.node import DeviceHandle
from fake_nvml.symbols import is_call_name


def _error_name(code: int) -> str:
    for name in dir(pynvml):
        if name.startswith("NVML_ERROR_") and getattr(pynvml, name) == code:
            return name.removeprefix("NVML_ERROR_")
    return "UNKNOWN"


class NodeServer:
    """Listens on ``path`` until :meth:`close`; sessions keep their own init refcount."""

    def __init__(self, sim: Simulation, path: str) -> None:
        self.path = path
        self._sim = sim
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._sessions: dict[str, NvmlSurface] = {}
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        if len(os.fsencode(path)) >= 107:
            raise ValueError(
                f"unix socket path {path!r} is {len(os.fsencode(path))} bytes; it must stay "
                "under 107 (use a short temp dir such as tempfile.mkdtemp(dir='/tmp'))"
            )
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)  # a stale socket from an earlier run
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._listener.bind(path)
        except OSError as exc:
            self._listener.close()
            raise OSError(f"cannot serve the node on {path}: {exc}") from None
        self._listener.listen(64)
        self._wake_r, self._wake_w = os.pipe()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"nvml-server {path}", daemon=True
        )
        self._accept_thread.start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self, timeout: float = 2.0) -> None:
        """Stop accepting, end every connection and wait (bounded) for the threads."""
        if self._closed.is_set():
            return
        self._closed.set()
        os.write(self._wake_w, b"x")
        self._sim.events.wake_all()
        with self._lock:
            connections = list(self._connections)
            threads = [*self._threads, self._accept_thread]
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._listener.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self) -> NodeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accepting -------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            readable, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in readable or self._closed.is_set():
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="nvml-session", daemon=True)
            with self._lock:
                self._connections.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        surface: NvmlSurface | None = None
        try:
            while not self._closed.is_set():
                message = recv_frame(conn)
                op = message.get("op")
                if op == "hello" and message.get("protocol") != PROTOCOL:
                    send_frame(
                        conn,
                        self._error(
                            message.get("id"),
                            pynvml.NVML_ERROR_INVALID_ARGUMENT,
                            f"this node speaks protocol {PROTOCOL}, the client {message.get('protocol')!r}",
                        ),
                    )
                    return
                if op == "hello":
                    surface = self._session(str(message.get("session", "")))
                    send_frame(
                        conn,
                        {
                            "id": message.get("id"),
                            "ok": {
                                "protocol": PROTOCOL,
                                "functions": surface_functions(),
                                "gpus": len(self._sim.model.gpus),
                            },
                        },
                    )
                elif op == "call" and surface is not None:
                    send_frame(conn, self._call(surface, message))
                else:
                    send_frame(
                        conn,
                        {
                            "id": message.get("id"),
                            "error": {
                                "code": pynvml.NVML_ERROR_INVALID_ARGUMENT,
                                "name": "INVALID_ARGUMENT",
                                "message": "send hello first" if op == "call" else f"unknown op {op!r}",
                            },
                        },
                    )
        except (ConnectionClosed, OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _session(self, session: str) -> NvmlSurface:
        with self._lock:
            surface = self._sessions.get(session)
            if surface is None:
                surface = NvmlSurface(self._sim)
                surface._cancelled = self._closed.is_set
                self._sessions[session] = surface
            return surface

    # -- calls -------------------------------------------------------------------------------
    def _call(self, surface: NvmlSurface, message: dict[str, Any]) -> dict[str, Any]:
        request_id = message.get("id")
        fn = str(message.get("fn", ""))
        if not is_call_name(fn):
            return self._error(request_id, pynvml.NVML_ERROR_FUNCTION_NOT_FOUND, f"no NVML function {fn!r}")
        try:
            args = decode(message.get("args", []), self._handle, self._event_set)
            kwargs = decode(message.get("kwargs", {}), self._handle, self._event_set)
            result = getattr(surface, fn)(*args, **kwargs)
            return {"id": request_id, "ok": encode(result)}
        except pynvml.NVMLError as exc:
            return self._error(request_id, exc.value, str(exc))
        except (TypeError, ValueError) as exc:
            return self._error(request_id, pynvml.NVML_ERROR_INVALID_ARGUMENT, f"{fn}: {exc}")

    @staticmethod
    def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
        return {"id": request_id, "error": {"code": code, "name": _error_name(code), "message": message}}

    def _handle(self, uuid: str) -> DeviceHandle:
        return self._sim.model.handle_for(uuid) or DeviceHandle(uuid)

    def _event_set(self, set_id: int) -> EventSet:
        return self._sim.events.get(set_id) or EventSet(-set_id)
