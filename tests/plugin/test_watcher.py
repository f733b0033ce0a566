"""The kubelet.sock watcher: a new kubelet.sock calls back; a lost watch leaves no stray writes."""

from __future__ import annotations

import os
import threading

from plugin.logfmt import EventLogger
from plugin.watcher import KubeletSocketWatcher
from tests.plugin.conftest import LogLines


def test_a_new_kubelet_socket_calls_back(sockdir: str, plugin_logs: LogLines) -> None:
    created = threading.Event()
    watcher = KubeletSocketWatcher(f"{sockdir}/kubelet.sock", created.set, EventLogger(plugin_logs.logger))  # type: ignore[attr-defined]
    watcher.start()
    try:
        open(f"{sockdir}/kubelet.sock", "w").close()
        assert created.wait(5)
    finally:
        watcher.stop()


def test_stop_after_the_watch_was_lost_writes_into_no_other_descriptor(
    sockdir: str, plugin_logs: LogLines
) -> None:
    """Before: the thread closed its wake-up pipe on watch-lost and stop() still wrote a byte to
    the old descriptor number, by then another file's (here a pipe's; in the plugin a gRPC socket's)."""
    directory = f"{sockdir}/kubelet"
    os.mkdir(directory)
    watcher = KubeletSocketWatcher(f"{directory}/kubelet.sock", lambda: None, EventLogger(plugin_logs.logger))  # type: ignore[attr-defined]
    watcher.start()
    assert watcher._pipe is not None and watcher._thread is not None
    old_write_end = watcher._pipe[1]
    os.rmdir(directory)
    plugin_logs.wait_for("watch-lost")
    watcher._thread.join(5)
    assert not watcher._thread.is_alive()
    # Take the freed numbers so that the old write end becomes a new pipe's write end.
    fillers: list[int] = []
    read_end, write_end = os.pipe()
    while write_end != old_write_end:
        os.close(read_end)
        os.close(write_end)
        fillers.append(os.open(os.devnull, os.O_RDONLY))
        assert len(fillers) < 8, "the old descriptor number was not reused"
        read_end, write_end = os.pipe()
    try:
        watcher.stop()
        os.set_blocking(read_end, False)
        try:
            stray = os.read(read_end, 16)
        except BlockingIOError:
            stray = b""
        assert stray == b"", "stop() wrote into a descriptor it no longer owns"
    finally:
        for fd in [read_end, write_end, *fillers]:
            os.close(fd)
