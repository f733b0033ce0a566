"""Serve a simulated node on a unix socket, so a plugin in another process sees it.

One thread per connection, requests on a connection answered in order: a blocking
``nvmlEventSetWait`` blocks only its own connection (clients open one per thread). The
accept loop waits on the listener and a wake-up pipe, so ``close()`` returns at once; waits
in progress are woken and answered with NVML_ERROR_UNKNOWN, then every thread ends. What each
message means is :mod:`fake_nvml.ops`'s business.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import stat
import threading
from typing import TYPE_CHECKING

from fake_nvml.codec import ConnectionClosed, recv_frame, send_frame
from fake_nvml.ops import Connection, NodeOps

if TYPE_CHECKING:
    from fake_nvml.fake import FakeNVML


class NodeServer:
    """Listens on ``path`` until :meth:`close`; sessions keep their own init refcount."""

    def __init__(self, node: FakeNVML, path: str) -> None:
        self.path = path
        self._sim = node._sim
        self._closed = threading.Event()
        self._ops = NodeOps(node, self._closed.is_set)
        self._lock = threading.Lock()
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

    def client_seconds(self) -> float:
        """Seconds plugin processes spent waiting on this node's answers (event waits left out)."""
        return self._ops.client_seconds()

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
            readable, _, _ = select.select([self._listener.fileno(), self._wake_r], [], [])
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
        state = Connection()
        try:
            while not self._closed.is_set() and not state.closing:
                send_frame(conn, self._ops.answer(state, recv_frame(conn)))
        except (ConnectionClosed, OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()
