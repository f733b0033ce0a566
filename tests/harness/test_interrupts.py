"""Ctrl-C and SIGTERM end a run cleanly: the running cases tear down (no plugin process or socket
folder outlives the run), one line says so, no traceback, and the exit status is 128 + the signal."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A plugin that never registers: it tells the test its pid and socket folder, then waits to be stopped.
STUB = (
    "import os, sys, time; open(sys.argv[1], 'w').write('%d %s;' % (os.getpid(), sys.argv[2])); "
    "time.sleep(300)"
)
WAITING = """\
description: waits long enough to be interrupted
tags: [own-plugin]
node: 1xH100
plugin: {{command: "{python} -c \\"{stub}\\" {fifo} {{socket_dir}}"}}
steps:
  - expect: {{registered: true, within: 120s}}
"""


def started(fifo: str, count: int, deadline_s: float = 60) -> list[tuple[int, str]]:
    """The (pid, socket folder) of each stub plugin, as they start (read from the FIFO they write)."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keep = os.open(fifo, os.O_WRONLY)  # no EOF between two writers
    seen, buffer, end = [], b"", time.monotonic() + deadline_s
    try:
        while len(seen) < count:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            assert ready, f"{len(seen)} of {count} plugins started within {deadline_s:.0f} s"
            buffer += os.read(fd, 4096)
            *lines, buffer = buffer.split(b";")
            seen += [(int(pid), folder) for pid, folder in (line.decode().split() for line in lines)]
    finally:
        os.close(fd)
        os.close(keep)
    return seen


def gone(pid: int, deadline_s: float = 30) -> bool:
    """Whether the process ends within the deadline (waits on its pidfd, no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], deadline_s)[0])
    finally:
        os.close(fd)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_an_interrupted_run_tears_its_cases_down_and_says_so(tmp_path, sig, workers):
    fifo = str(tmp_path / "started")
    os.mkfifo(fifo)
    for name in [f"case{i}.yaml" for i in range(workers)]:
        (tmp_path / name).write_text(WAITING.format(python=sys.executable, stub=STUB, fifo=fifo))
    argv = [sys.executable, "-m", "harness", "run", str(tmp_path), "--no-reports", "-n", str(workers)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        plugins = started(fifo, workers)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + sig, (out, err)
    assert f"interrupted ({sig.name}) after 0 of {workers} cases" in out
    assert "Traceback" not in err, err
    for pid, socket_dir in plugins:
        assert gone(pid, 0), f"the plugin {pid} outlived the run"
        assert not os.path.exists(os.path.dirname(socket_dir)), f"{socket_dir} outlived the run"
