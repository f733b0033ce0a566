"""What the commands share: run options from the option table, case selection, the program name."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
from pathlib import Path

from harness.collect import Loaded, load_all
from harness.extensions import ExtensionError
from harness.keywords import KeywordError, compile_keywords
from harness.model.scenario import Scenario
from harness.options import GRPC_LOG_HELP, OPTIONS, OptionError, RunOptions, quiet_grpc, run_options

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 5
PROG = "dp-harness"  # how errors and usage name this program


class UsageError(Exception):
    """A bad flag or value: printed as one line (``dp-harness: ...``), exit status 2."""


def program() -> str:
    """How to call this program again from here: ``dp-harness``, ``.venv/bin/dp-harness`` or
    ``.venv/bin/python -m harness`` (for the rerun lines of failures)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) in ("__main__.py", "-m", "-c", ""):
        return f"{_here(sys.executable)} -m harness"
    name = os.path.basename(argv0)
    found = shutil.which(name)
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return name
    return _here(argv0)


def _here(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if not rel.startswith("..") else path


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The option table's flags, and --grpc-log."""
    for option in OPTIONS:
        if option.boolean:
            parser.add_argument(option.flag, dest=option.field, action="store_true", help=option.help)
        else:
            parser.add_argument(option.flag, dest=option.field, default=None, help=option.help)
    parser.add_argument("--grpc-log", action="store_true", help=GRPC_LOG_HELP)


def options_from(args: argparse.Namespace) -> RunOptions:
    """RunOptions from parsed flags; quiets gRPC first (before anything imports it)."""
    quiet_grpc(args.grpc_log)
    from harness.runner import check_run

    try:
        options = run_options({o.field: getattr(args, o.field) for o in OPTIONS})
        check_run(options)  # a bad --plugin-profile or --node stops here, before any case
    except (OptionError, ExtensionError) as exc:
        raise UsageError(str(exc)) from None
    return options


def output_folder(value: str, flag: str) -> Path:
    """The folder a flag names for output (``--reports-dir``), made if missing; a path that is a
    file, lies under a file or cannot be written is a UsageError naming the flag, before any case runs."""
    path = Path(value)
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        where = "is a file" if blocker == path else f"lies under {str(blocker)!r}, which is a file"
        raise UsageError(f"{flag} {value!r} {where}: give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".dp-harness-write-check-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{flag} {value!r}: cannot write there ({exc.strerror or exc})") from None
    return path


def reports_base(value: str, flag: str = "--reports-dir") -> Path:
    """The folder that gets a folder per run and the ``latest`` link (run, diff, explore): checked
    as :func:`output_folder`, and its ``latest`` must be the link, so that the end of a run cannot fail."""
    from harness.reports.folder import LATEST

    base = output_folder(value, flag)
    latest = base / LATEST
    if latest.exists() and not latest.is_symlink():
        raise UsageError(
            f"{flag} {value!r}: {str(latest)!r} is not the link this harness keeps; move it away"
        )
    return base


def output_file(value: str, flag: str, *, must_exist: bool = False) -> Path:
    """A file a flag names for output (``--write FILE``): not a folder, in a folder that exists."""
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"{flag} {value!r} is a folder: give a file")
    if must_exist and not path.is_file():
        raise UsageError(f"{flag} {value!r}: no such file")
    if not path.parent.is_dir():
        raise UsageError(f"{flag} {value!r}: {str(path.parent)!r} is not a folder")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{flag} {value!r}: not writable")
    return path


def workers(value: str) -> int:
    """``-n N`` or ``-n auto`` (the CPUs this process may use)."""
    if value == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers (or 'auto')") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give 1 or more workers (or 'auto')")
    return n


def load(paths: list[str]) -> Loaded:
    """Every case under ``paths`` (files, folders, ``file::id``); invalid files reported on stderr."""
    loaded = load_all([Path(p) if "::" not in p else p for p in paths])
    gc.freeze()  # the cases live as long as the command: no collection (nor the one at exit) walks them
    for error in loaded.errors:
        print(error, file=sys.stderr)
        print(file=sys.stderr)
    return loaded


def select(scenarios: list[Scenario], keywords: str | None) -> list[Scenario]:
    if not keywords:
        return scenarios
    try:
        match = compile_keywords(keywords)
    except KeywordError as exc:
        raise UsageError(str(exc)) from None
    return [s for s in scenarios if match([s.id, s.path, *s.tags])]
