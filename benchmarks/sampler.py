"""An all-threads sampling profiler (stdlib only): where a process spends its non-waiting time.

cProfile sees one thread and pyinstrument is not installed; a benchmark's time is spread over gRPC
server threads, health watchers and the kubelet's readers. Every ``interval`` s the sampler reads
``sys._current_frames()`` and counts, per thread that is not parked in a known wait (a lock, a
queue, a selector, gRPC's completion-queue poll), its leaf function (self) and every function on
its stack (inclusive). A heuristic, not a tracer: a thread blocked in C code called from a
function not listed as a wait counts as busy in that function.

``python benchmarks/sampler.py OUT.txt -m module args...`` runs a module under the sampler and
writes the top entries to ``OUT.txt`` when it exits (SIGTERM included): how a benchmark profiles
a plugin process.
"""

from __future__ import annotations

import atexit
import collections
import os
import runpy
import sys
import threading
from types import FrameType

# (file name ending, function) pairs whose frames mean "this thread is waiting", and whole files.
_WAIT_FILES = ("threading.py", "queue.py", "selectors.py", "concurrent/futures/thread.py", "sampler.py")
_WAIT_FUNCS = {
    ("grpc/_server.py", "_serve"),
    ("grpc/_channel.py", "_next"),
    ("grpc/_channel.py", "_blocking"),
    ("grpc/_common.py", "wait"),
    ("grpc/_common.py", "_wait_once"),
    ("inotify_simple.py", "read"),
    ("socket.py", "accept"),
    ("subprocess.py", "wait"),
    ("fake_nvml/codec.py", "_recv_exact"),
    ("site-packages/pynvml.py", "nvmlEventSetWait_v2"),
    ("site-packages/pynvml.py", "nvmlEventSetWait"),
    ("grpc/_channel.py", "channel_spin"),
    ("simkit/log.py", "wait_quiet"),
    ("simkit/log.py", "wait_change"),
    ("fake_nvml/server.py", "_accept_loop"),
    ("plugin/watcher.py", "_run"),
    ("fake_kubelet/endpoint.py", "read_ahead"),
    ("subprocess.py", "_wait"),
    ("subprocess.py", "_try_wait"),
}


def _label(frame: FrameType) -> str:
    code = frame.f_code
    parts = code.co_filename.replace(os.sep, "/").split("/")
    short = "/".join(parts[-2:])
    return f"{short}:{code.co_firstlineno}({code.co_name})"


def _waiting(frame: FrameType) -> bool:
    name = frame.f_code.co_filename.replace(os.sep, "/")
    if name.endswith(_WAIT_FILES):
        return True
    return any(name.endswith(f) and frame.f_code.co_name == fn for f, fn in _WAIT_FUNCS)


class Sampler:
    """Start, stop, then ``top()``: the busiest functions by self and inclusive samples."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.self_counts: collections.Counter[str] = collections.Counter()
        self.incl_counts: collections.Counter[str] = collections.Counter()
        self.samples = 0  # busy thread-samples
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Sampler:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        return self

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            self.ticks += 1
            for ident, frame in sys._current_frames().items():
                if ident == me or _waiting(frame):
                    continue
                self.samples += 1
                self.self_counts[_label(frame)] += 1
                seen = set()
                f: FrameType | None = frame
                while f is not None:
                    label = _label(f)
                    if label not in seen:
                        seen.add(label)
                        self.incl_counts[label] += 1
                    f = f.f_back

    def top(self, n: int = 8) -> list[str]:
        """Lines: ``self% incl% function`` for the n busiest functions by self samples, then inclusive."""
        total = max(1, self.samples)
        lines = [f"{self.samples} busy samples over {self.ticks} ticks of {self.interval * 1000:g} ms"]
        lines.append("  by self time:")
        for label, count in self.self_counts.most_common(n):
            lines.append(f"    {100 * count / total:5.1f}%  {label}")
        lines.append("  by inclusive time (our packages):")
        ours = ("plugin/", "fake_kubelet/", "fake_nvml/", "harness/", "simkit/", "deviceplugin/")
        inclusive = [(k, v) for k, v in self.incl_counts.most_common() if k.startswith(ours)]
        for label, count in inclusive[:n]:
            lines.append(f"    {100 * count / total:5.1f}%  {label}")
        return lines


def main(argv: list[str]) -> None:
    """``sampler.py OUT -m module args``: run the module as __main__ and write the profile at exit."""
    out, flag, module, *rest = argv
    assert flag == "-m", "usage: sampler.py OUT -m module [args]"
    sampler = Sampler(0.002).start()
    written = threading.Lock()

    def write() -> None:
        if written.acquire(blocking=False):
            sampler.stop()
            with open(out, "w", encoding="utf-8") as fh:
                fh.write("\n".join(sampler.top(12)) + "\n")

    atexit.register(write)  # the plugin's own SIGTERM handler ends in a normal exit
    sys.argv = [module, *rest]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        write()


if __name__ == "__main__":
    main(sys.argv[1:])
