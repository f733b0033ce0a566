"""Jump a simulation's clock over its quiet stretches, as a discrete-event simulator does.

A scenario's parts react in real time (threads, gRPC) but time their timeouts, retries,
probes and grace periods on one :class:`simkit.Clock`. When nothing has happened for a
*quiet window* of real time, every part is waiting, and the next thing that can happen is
the clock's next deadline: jumping to it at once changes nothing but the wait. Only sound
when every timer of the simulation is on this clock (a plugin in another process keeps
its own real-time timers, so its scenarios run without a pacer).

Quiet means: no event (append or touch) for a window of real time, this process used
little CPU meanwhile, none of its other threads is runnable at the end, and no child process
ran or used CPU meanwhile. These catch a part that computes without logging (a rebuild at
thousands of devices), a process starved of CPU by others, and a helper command the plugin
runs and waits for (``nvidia-cuda-mps-control``); the window covers what is in flight
between threads (a message in a socket). Only a reaction that begins more than a window after everything
went idle, with no timer behind it, could be overtaken; the window is several times the
slowest reaction this harness measures (docs/scenarios.md, "Time").
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

from simkit.clock import Clock
from simkit.log import ObservationLog

QUIET_S = 0.02
CPU_SHARE = 0.25  # at most this share of one CPU used over a quiet window (idle parts use ~5%)


def _state_and_ticks(stat_path: str) -> tuple[str, int] | None:
    """A task's scheduler state (R running, D in I/O, S asleep, Z gone) and its CPU clock ticks."""
    try:
        with open(stat_path, encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return fields[0], int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None  # it ended meanwhile


def _others_runnable() -> bool:
    """Whether a thread of this process other than the caller is running or waiting for a CPU."""
    me = str(threading.get_native_id())
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:  # not Linux: the CPU share alone decides
        return False
    for tid in tids:
        if tid != me and (st := _state_and_ticks(f"/proc/self/task/{tid}/stat")) and st[0] == "R":
            return True
    return False


def _has_children() -> bool:
    """Whether this process has a child at all: one syscall that reaps nothing (WNOWAIT), where
    walking ``/proc/self/task/*/children`` reads a file per thread (a run has dozens of gRPC
    threads and asks twice per quiet window; most runs have no child)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except (AttributeError, OSError):  # no waitid here: walk /proc as before
        return True
    return True


def _descendants() -> dict[int, tuple[str, int]]:
    """This process's child processes and theirs: pid -> (state, CPU ticks)."""
    found: dict[int, tuple[str, int]] = {}
    if not _has_children():
        return found
    parents = ["self"]
    while parents:
        parent = parents.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children", encoding="ascii") as f:
                    pids = [int(p) for p in f.read().split()]
            except (OSError, ValueError):
                continue
            for pid in pids:
                if pid not in found and (st := _state_and_ticks(f"/proc/{pid}/stat")) is not None:
                    found[pid] = st
                    parents.append(str(pid))
    return found


def _children_busy(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]) -> bool:
    """A child process ran, waited on a disk, or used CPU meanwhile (a plugin's helper command
    at work: its time is no event and no CPU of ours). A sleeping daemon child is not busy."""
    for pid, (state, ticks) in after.items():
        if state in ("R", "D") or (state != "Z" and ticks > before.get(pid, ("", 0))[1]):
            return True
    return False


class Pacer:
    """Runs the clock forward over quiet stretches while a block runs, never past a horizon."""

    def __init__(
        self,
        clock: Clock,
        log: ObservationLog,
        quiet: float = QUIET_S,
        on_jump: Callable[[float, str], None] | None = None,
    ) -> None:
        self.clock = clock
        self.log = log
        self.quiet = quiet
        self.on_jump = on_jump  # (seconds, why) after each jump; e.g. a log event for reports
        self.jumped = 0.0  # clock seconds skipped so far

    @contextlib.contextmanager
    def running(self, horizon: float, *, inclusive: bool = False, why: str = "") -> Iterator[None]:
        """While the block runs, jump to each deadline before ``horizon`` whenever all is quiet.

        ``inclusive``: also jump to ``horizon`` itself when no deadline comes sooner (a hold:
        the time to its end passes with nothing due). Otherwise a deadline at or after the
        horizon is waited for in real time (an ``within`` wait never jumps to its own end).
        """
        stopped = threading.Event()
        thread = threading.Thread(
            target=self._drive,
            args=(horizon, inclusive, why, stopped.is_set),
            name="simkit-pacer",
            daemon=True,
        )
        thread.start()
        try:
            yield
        finally:
            stopped.set()
            self.log.touch()  # wakes the pacer's quiet wait
            thread.join()

    def quiet_now(self, stopped: Callable[[], bool]) -> bool:
        """Block until the simulation is quiet (see the module doc); False when stopped first."""
        while True:
            cpu, real, children = time.process_time(), time.monotonic(), _descendants()
            if not self.log.wait_quiet(self.quiet, stopped):
                return False
            cpu, real = time.process_time() - cpu, time.monotonic() - real
            if (
                cpu <= CPU_SHARE * real
                and not _others_runnable()
                and not _children_busy(children, _descendants())
            ):
                return True

    def _drive(self, horizon: float, inclusive: bool, why: str, stopped: Callable[[], bool]) -> None:
        while self.quiet_now(stopped):
            now = self.clock.now()
            due = self.clock.next_deadline(after=now)
            if due is not None and (due < horizon or (inclusive and due <= horizon)):
                target = due
            elif inclusive and now < horizon:
                target = horizon
            else:  # nothing due before the horizon: wait for activity, which may set a deadline
                if not self.log.wait_change(stopped):
                    return
                continue
            seconds = max(0.0, target - now)
            self.jumped += seconds
            # The timer thread fires what falls due, so a callback that blocks (an NVML call
            # with added latency) cannot stall this driver; its own waits are jumped over too.
            self.clock.advance(seconds, fire=False)
            if self.on_jump is not None and seconds > 0:
                self.on_jump(seconds, why)
