"""A run ends alike on Ctrl-C and on SIGTERM: every case's teardown runs, the reports of the cases
that ended are written, and the process exits 128 + the signal's number.

SIGTERM's default action ends the process at once, leaving plugin processes (each in its own
session, so no group signal reaches them) and the cases' socket folders behind. Raising
:class:`Interrupted` in the main thread instead unwinds every case as Ctrl-C's KeyboardInterrupt does.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised where the main thread is, so the run's ``with`` blocks and
    callbacks run (a KeyboardInterrupt, so what handles Ctrl-C handles both)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)  # the only argument, so that it pickles back from a worker

    @property
    def signum(self) -> int:
        return int(self.args[0])

    def __str__(self) -> str:
        return signal.Signals(self.signum).name


def _raise(signum: int, _frame: FrameType | None) -> None:
    # Once: a second signal (a second Ctrl-C, or the SIGTERM a wrapper such as timeout(1) passes
    # on) must not break into the teardown the first one started.
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, signal.SIG_IGN)
    raise Interrupted(signum)


def install(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """These signals raise :class:`Interrupted` in the main thread, once (call it from there)."""
    for each in signals:
        signal.signal(each, _raise)


def worker_started() -> None:
    """A pool worker: Ctrl-C at the terminal is the session's to handle (it ends busy workers
    with SIGTERM), and an idle worker ends at once on SIGTERM, as it has nothing to tear down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While a worker runs a case, SIGTERM unwinds the case instead of ending the process."""
    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def signum(exc: KeyboardInterrupt) -> int:
    """The signal that ended the run (a bare KeyboardInterrupt is Ctrl-C's)."""
    return exc.signum if isinstance(exc, Interrupted) else int(signal.SIGINT)
