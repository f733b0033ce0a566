"""What ``dp-harness run`` prints: one line per case as it ends, then each failure in full, then a summary.

Everything goes to one stream (stdout), in this order, so a log reads top to bottom. On a
terminal a progress bar stays on the last line while cases run (drawn with a carriage return,
erased before each case line, so a log captured from a terminal has no bars in it). Each
failure ends with the command that reruns that case alone.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import TextIO

from harness.listeners import CaseRef, Listener, Outcome, Plan
from harness.result import Result, Status
from harness.skips import summary_lines

MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.SKIPPED: "SKIP"}
BAR = 24


def display_name(path: str, case_id: str) -> str:
    """``health/xid-fatal[79]``: the folder says which part of the library a case belongs to."""
    folder = os.path.basename(os.path.dirname(path)) if path else ""
    return f"{folder}/{case_id}" if folder else case_id


def rerun_command(plan: Plan, ref: CaseRef) -> str:
    return shlex.join([*plan.rerun, ref.node_id]) if plan.rerun else ref.node_id


class Console(Listener):
    """The CLI's console: a line per case, a progress bar on a terminal, failures, a summary."""

    def __init__(self, out: TextIO | None = None, *, tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.tty = (self.out.isatty() and os.environ.get("TERM") != "dumb") if tty is None else tty
        self.plan = Plan([])
        self.done = 0
        self.bad = 0
        self.width = 40
        self._t0 = time.perf_counter()
        self._bar_shown = False

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._write("\r\033[K")
            self._bar_shown = False

    def _draw_bar(self) -> None:
        if not self.tty or not self.plan.cases:
            return
        total = len(self.plan.cases)
        filled = BAR * self.done // total
        elapsed = time.perf_counter() - self._t0
        bad = f"  {self.bad} not passed" if self.bad else ""
        self._write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {self.done}/{total}  {elapsed:.0f}s{bad}")
        self._bar_shown = True

    def session_started(self, plan: Plan) -> None:
        self.plan = plan
        self._t0 = time.perf_counter()
        names = [display_name(c.path, c.id) for c in plan.cases]
        self.width = min(max([len(n) for n in names] + [20]), 70)
        files = len({c.path for c in plan.cases})
        workers = f", {plan.workers} workers" if plan.workers > 1 else ""
        self._write(f"{len(plan.cases)} cases from {files} scenario files{workers}\n")
        self._draw_bar()

    def case_finished(self, result: Result) -> None:
        self.done += 1
        self.bad += not result.ok
        why = ""
        if result.status == Status.SKIPPED:
            why = result.skip_reason
        elif result.failure is not None:
            why = result.failure.message
        name = display_name(result.path, result.id)
        line = f"{MARK[result.status]:<5} {name:<{self.width}} {result.duration_s * 1000:7.0f} ms"
        if why:
            line += f"  {why.splitlines()[0][:100]}"
        self._clear_bar()
        self._write(line + "\n")
        self._draw_bar()

    def session_finished(self, outcome: Outcome) -> None:
        self._clear_bar()
        failed = [r for r in outcome.results if not r.ok]
        if failed:
            self._write(f"\n{'=' * 30} failures {'=' * 30}\n")
        for r in failed:
            title = f" {display_name(r.path, r.id)}: {r.status} "
            self._write(f"\n{title:_^70}\n{r.report()}\n")
            self._write(f"rerun: {rerun_command(self.plan, CaseRef(r.id, r.path, r.case))}\n")
        counts = outcome.count()
        summary = ", ".join(f"{counts[s]} {s}" for s in Status if counts.get(s))
        skipped = [r.skip_reason for r in outcome.results if r.status == Status.SKIPPED]
        gated = [
            s.message
            for r in outcome.results
            if r.status != Status.SKIPPED
            for s in r.steps
            if s.status == Status.SKIPPED
        ]
        self._write("\n" + "\n".join(summary_lines(len(outcome.results) - len(skipped), skipped, gated)))
        self._write(f"\n{summary or 'no cases'} in {outcome.wall_s:.2f}s\n")
        for r in failed:
            self._write(f"  {MARK[r.status]:<5} {r.node_id}\n")
