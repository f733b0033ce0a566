"""Reports are listeners (:mod:`harness.listeners`): the reporter table, and where a run writes.

Built in: ``html`` (a folder per case with ``result.json``, ``events.json``, the timeline
and its page, and the run's ``index.html``), ``junit`` (``junit.xml``) and ``allure``
(``allure-results/``). Installed packages add reporters through the ``dp_harness.reporters``
entry-point group: a callable that takes a :class:`ReportTarget` and returns a Listener.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.extensions import REPORTERS, load_group
from harness.listeners import Listener


@dataclass(frozen=True)
class ReportTarget:
    """Where one run's reports go: its own folder (``reports/<time>/``)."""

    folder: Path


Reporter = Callable[[ReportTarget], Listener]


def _html(target: ReportTarget) -> Listener:
    from harness.reports.html import HtmlReport

    return HtmlReport(target.folder)


def _junit(target: ReportTarget) -> Listener:
    from harness.reports.junit import JunitReport

    return JunitReport(target.folder)


def _allure(target: ReportTarget) -> Listener:
    from harness.reports.allure import AllureReport

    return AllureReport(target.folder / "allure-results")


BUILTIN: dict[str, Reporter] = {"html": _html, "junit": _junit, "allure": _allure}


def _reporter(obj: object) -> Reporter | None:
    return obj if callable(obj) else None


@functools.cache
def reporters() -> dict[str, Reporter]:
    """Every reporter by name: the built-in ones, then those installed packages register."""
    return load_group(REPORTERS, BUILTIN, _reporter)


def reporters_for(names: Sequence[str], target: ReportTarget) -> list[Listener]:
    """The listeners of the named reporters (KeyError names the unknown one and what exists)."""
    table = reporters()
    unknown = [n for n in names if n not in table]
    if unknown:
        raise KeyError(f"no reporter {unknown[0]!r}; reporters: {', '.join(table)}")
    return [table[name](target) for name in names]


__all__ = ["BUILTIN", "ReportTarget", "Reporter", "reporters", "reporters_for"]
