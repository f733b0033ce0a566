"""``never:`` conditions, checked throughout a scenario on a watcher thread.

The watcher wakes on every observation-log append (a subscriber only sets a flag, so the
appending component is never slowed or re-entered) and evaluates the conditions on its own
thread, so predicates may take component locks. The first violation is kept with the time and
the step it happened in; the runner fails the scenario at the end of that step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.context import Ctx
    from harness.model.calls import ConditionSet


@dataclass
class NeverViolation:
    condition: str
    observed: str
    t: float
    step: str
    loc: str


class NeverWatch:
    def __init__(self, ctx: Ctx, sets: list[ConditionSet], current_step: Callable[[], str]) -> None:
        self.ctx = ctx
        self.sets = sets
        self.current_step = current_step  # the title of the step running now ("setup" before any)
        self.violation: NeverViolation | None = None
        self._dirty = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        if not self.sets:
            return
        self._unsubscribe = self.ctx.log.subscribe(lambda event: self._dirty.set())
        self._thread = threading.Thread(target=self._run, name="never-watch", daemon=True)
        self._thread.start()

    def check_now(self) -> NeverViolation | None:
        if self.violation is None:
            self._evaluate()
        return self.violation

    def _evaluate(self) -> None:
        for cset in self.sets:
            try:
                verdict = cset.evaluate(self.ctx)
            except Exception:  # e.g. a template naming no device yet: the condition does not hold
                continue
            if verdict.ok and self.violation is None:
                self.violation = NeverViolation(
                    cset.describe(),
                    verdict.observed,
                    self.ctx.clock.now(),
                    self.current_step(),
                    str(cset.loc),
                )
                self.ctx.log.touch()  # wake expectations that wait, so they stop early

    def _run(self) -> None:
        while not self._stop:
            self._dirty.wait()
            self._dirty.clear()
            if self._stop:
                return
            self._evaluate()

    def stop(self) -> None:
        self._stop = True
        self._dirty.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._thread is not None:
            self._thread.join(2.0)
