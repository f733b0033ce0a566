"""Watch the kubelet socket's directory with inotify: a new ``kubelet.sock`` means a kubelet restart.

On (re)start the kubelet removes every plugin socket and then creates ``kubelet.sock`` anew; the
kubelet can no longer reach our old sockets, so the plugin must restart its servers and register
again. inotify tells us the moment it happens (no polling); a self-pipe makes stop immediate.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

from inotify_simple import INotify
from inotify_simple import flags as in_flags

from plugin.logfmt import EventLogger


class KubeletSocketWatcher:
    def __init__(self, kubelet_socket: str, on_created: Callable[[], None], events: EventLogger) -> None:
        self.directory = os.path.dirname(kubelet_socket) or "."
        self.name = os.path.basename(kubelet_socket)
        self._on_created = on_created
        self._log = events
        self._inotify: INotify | None = None
        self._pipe: tuple[int, int] | None = None
        self._pipe_lock = threading.Lock()  # the thread closes the pipe; stop() must not write after
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._inotify = INotify()
        self._inotify.add_watch(self.directory, in_flags.CREATE | in_flags.MOVED_TO | in_flags.DELETE_SELF)
        self._pipe = os.pipe()
        self._thread = threading.Thread(target=self._run, name="plugin-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        # After the thread ended (watch-lost) its descriptors are closed and their numbers may
        # belong to another file by now: writing there would corrupt that file or socket.
        with self._pipe_lock:
            if self._pipe is not None:
                try:
                    os.write(self._pipe[1], b"x")
                except OSError:
                    pass

    def _run(self) -> None:
        assert self._inotify is not None and self._pipe is not None
        inotify, (stop_r, stop_w) = self._inotify, self._pipe
        try:
            while True:
                ready, _, _ = select.select([inotify.fileno(), stop_r], [], [])
                if stop_r in ready:
                    return
                for event in inotify.read(timeout=0):
                    if event.mask & in_flags.DELETE_SELF:
                        self._log.warning("watch-lost", directory=self.directory)
                        return
                    if event.name == self.name:
                        path = os.path.join(self.directory, self.name)
                        self._log.info("kubelet-socket-created", socket=path)
                        try:
                            self._on_created()
                        except Exception as exc:  # keep watching; the manager logs its own failure
                            self._log.error("rebuild-failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            inotify.close()
            with self._pipe_lock:
                self._pipe = None
                os.close(stop_r)
                os.close(stop_w)
