"""``dp-harness run``: run the selected cases, print a line each, write the reports of this run.

Each run writes into its own folder under ``--reports-dir`` (``reports/<time>/``), and
``reports/latest`` points at it; nothing earlier is deleted. A selection that matches no case
runs nothing, writes nothing and exits 5; so does a run whose every case was skipped (after
writing its reports), with one line saying why: a run that tested nothing never passes.
"""

from __future__ import annotations

import argparse
import signal

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_run_options,
    load,
    options_from,
    program,
    reports_base,
    select,
    workers,
)
from harness.extensions import ExtensionError
from harness.listeners import Listener
from harness.options import rerun_args
from harness.result import Status
from harness.skips import nothing_ran

DEFAULT_REPORTS = ("html", "junit", "allure")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="scenario files, folders, or file::case-id")
    parser.add_argument("-k", dest="keywords", default=None, help="select by id/path/tag: 'xid and not 79'")
    parser.add_argument(
        "-n",
        dest="workers",
        type=workers,
        default=1,
        metavar="N",
        help="run in N processes ('auto': one per CPU)",
    )
    add_run_options(parser)
    parser.add_argument(
        "--reports-dir", default="reports", help="where each run's report folder goes (default: reports/)"
    )
    parser.add_argument("--no-reports", action="store_true", help="write no report files")
    parser.add_argument(
        "--report",
        dest="reports",
        action="append",
        default=None,
        metavar="NAME",
        help=f"which reports to write (repeatable; default: {', '.join(DEFAULT_REPORTS)})",
    )


def main(args: argparse.Namespace) -> int:
    options = options_from(args)
    base = None if args.no_reports or not args.reports_dir else reports_base(args.reports_dir)
    from harness.reports.console import Console
    from harness.session import Session

    loaded = load(args.paths)
    scenarios = select(loaded.scenarios, args.keywords)
    if not scenarios:
        what = f" match -k {args.keywords!r}" if args.keywords else " were found"
        print(f"no cases{what} ({len(loaded.scenarios)} loaded); nothing ran, no reports written")
        return EXIT_USAGE if loaded.errors else EXIT_NOTHING
    from harness.runner import run_profile

    profile = run_profile(options)
    print(f"plugin profile: {profile.name} ({profile.path})")
    listeners: list[Listener] = [Console()]
    folder = None
    if base is not None:
        from harness.reports import ReportTarget, reporters_for
        from harness.reports.folder import new_run_folder

        names = args.reports or list(DEFAULT_REPORTS)
        try:
            folder = new_run_folder(base)
            listeners += reporters_for(names, ReportTarget(folder))
        except (KeyError, ExtensionError) as exc:
            if folder is not None:
                folder.rmdir()
            raise UsageError(str(exc).strip("'\"")) from None
    rerun = [*program().split(), "run", *rerun_args(options)]
    outcome = Session(options, listeners).run(scenarios, args.workers, rerun)
    if base is not None and folder is not None:
        from harness.reports.folder import point_latest

        point_latest(base, folder)
        index = folder / "index.html"
        print(f"reports: {index if index.exists() else folder}")
    if outcome.interrupted:
        name = signal.Signals(outcome.interrupted).name
        ended = f"{len(outcome.results)} of {len(scenarios)} cases"
        print(f"interrupted ({name}) after {ended}; nothing else ran")
        return 128 + outcome.interrupted
    if loaded.errors:
        return EXIT_USAGE
    if not outcome.ok:
        return EXIT_FAILED
    skipped = [r.skip_reason for r in outcome.results if r.status == Status.SKIPPED]
    if len(skipped) == len(outcome.results):
        print(nothing_ran(skipped))
        return EXIT_NOTHING
    return EXIT_OK
