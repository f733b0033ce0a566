"""``never:`` conditions, checked throughout a scenario on a watcher thread.

The watcher wakes on every observation-log append (a subscriber only sets a flag, so the
appending component is never slowed or re-entered) and evaluates the conditions on its own
thread, so predicates may take component locks. The first violation is kept with the time and
the step it happened in; the runner fails the scenario at the end of that step.

A condition that cannot be evaluated yet (a template naming a pod not admitted yet raises
StepFailed) simply does not hold at that moment, but one that could not be evaluated at any
moment of the scenario, or that raises anything else, makes the case an ERROR: a ``never:``
that was never checked must not read as a pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.context import StepError, StepFailed

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
        self.error: StepError | None = None  # a condition that raised what it must not
        self._unchecked: dict[int, str] = {id(s): "" for s in sets}  # set → why it could not be checked
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
        if self.violation is None and self.error is None:
            self._evaluate()
        return self.violation

    def check_evaluated(self) -> None:
        """Raise StepError for a condition that could not be evaluated at any time."""
        for cset in self.sets:
            if id(cset) in self._unchecked:
                raise StepError(
                    f"the 'never' condition at {cset.loc} ({cset.describe()}) could not be checked at any "
                    f"time during the scenario: {self._unchecked[id(cset)]}",
                    fix="make it name devices, pods and resources the scenario has (a never: that "
                    "was never checked is not a pass)",
                )

    def _evaluate(self) -> None:
        for cset in self.sets:
            try:
                verdict = cset.evaluate(self.ctx)
            except StepFailed as exc:  # e.g. {allocated.p1.main} before p1 is admitted: not yet
                if id(cset) in self._unchecked:
                    self._unchecked[id(cset)] = exc.message
                continue
            except Exception as exc:
                if self.error is None:
                    self.error = StepError(
                        f"the 'never' condition at {cset.loc} ({cset.describe()}) raised "
                        f"{type(exc).__name__}: {exc} (during {self.current_step()})",
                        fix="a condition must say whether it holds; this one broke, so the scenario "
                        "cannot pass (fix the condition, or report the bug if it is the harness's)",
                    )
                    self.ctx.log.touch()
                continue
            self._unchecked.pop(id(cset), None)
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
