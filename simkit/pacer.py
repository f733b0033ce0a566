"""Jump a simulation's clock over its quiet stretches, as a discrete-event simulator does.

A scenario's parts react in real time (threads, gRPC) but time their timeouts, retries,
probes and grace periods on one :class:`simkit.Clock`. When nothing has happened for a
*quiet window* of real time, every part is waiting, and the next thing that can happen is
the clock's next deadline: jumping to it at once changes nothing but the wait. Only sound
when every timer of the simulation is on this clock (a plugin in another process keeps
its own real-time timers, so its scenarios run without a pacer).

Quiet means: no event (append or touch) for a window of real time, this process used
little CPU meanwhile, and none of its other threads is runnable at the end. The last two
catch a part that computes without logging (a rebuild at thousands of devices) and a
process starved of CPU by others; the window covers what is in flight between threads
(a message in a socket). Only a reaction that begins more than a window after everything
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


def _others_runnable() -> bool:
    """Whether a thread of this process other than the caller is running or waiting for a CPU."""
    me = str(threading.get_native_id())
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:  # not Linux: the CPU share alone decides
        return False
    for tid in tids:
        if tid == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as f:
                state = f.read().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        if state == "R":
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
            cpu, real = time.process_time(), time.monotonic()
            if not self.log.wait_quiet(self.quiet, stopped):
                return False
            cpu, real = time.process_time() - cpu, time.monotonic() - real
            if cpu <= CPU_SHARE * real and not _others_runnable():
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
