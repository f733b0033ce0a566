"""``dp-harness diff PATHS --plugin-a CMD --plugin-b CMD``: run every case with both, list the differences.

``ours`` as a side is our plugin in-process. The table goes to the console; the same table, as
an HTML section, heads ``index.html`` of this run's report folder (``reports/<time>/``, with
``reports/latest`` pointing at it), beside each plugin's own case reports (``a/``, ``b/``).
Exit status: 0 when the kubelet saw the same of both plugins in every case, 1 when it did not,
2 for bad input, 5 when nothing was selected.
"""

from __future__ import annotations

import argparse
import sys

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    load,
    reports_base,
    select,
    workers,
)
from harness.options import OptionError, RunOptions, quiet_grpc, run_options

OURS = "ours"  # --plugin-a ours: our plugin, in-process


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="scenario files, folders, or file::case-id")
    for side in ("a", "b"):
        upper = side.upper()
        parser.add_argument(
            f"--plugin-{side}",
            required=True,
            metavar="CMD",
            help=f"plugin {upper}: a command line (placeholders as --plugin-cmd), or '{OURS}' for our "
            "plugin in-process",
        )
        parser.add_argument(
            f"--profile-{side}", default=None, metavar="PROFILE", help=f"plugin {upper}'s profile"
        )
        parser.add_argument(f"--launcher-{side}", default=None, help=f"how to run plugin {upper}")
    parser.add_argument("-k", dest="keywords", default=None, help="select by id/path/tag: 'xid and not 79'")
    parser.add_argument("-n", dest="workers", type=workers, default=1, metavar="N", help="run in N processes")
    parser.add_argument("--node", default=None, metavar="SPEC", help="simulate this node for every case")
    parser.add_argument(
        "--nvml",
        default=None,
        choices=("sim", "real"),
        help="real: both plugins on this machine's GPUs (as --nvml real); default sim",
    )
    parser.add_argument(
        "--tolerance", default="1s", help="timing differences up to this much are not reported (default 1s)"
    )
    parser.add_argument(
        "--reports-dir", default="reports", help="where this run's folder with diff.html goes ('' for none)"
    )


def _side(args: argparse.Namespace, side: str) -> tuple[str, RunOptions]:
    from harness.runner import check_run, run_profile

    command = getattr(args, f"plugin_{side}")
    if command != OURS and not command.strip():
        raise UsageError(f"--plugin-{side} is empty: give a command line, or '{OURS}' for our plugin")
    values = {
        "plugin_cmd": None if command == OURS else command,
        "launcher": getattr(args, f"launcher_{side}"),
        "plugin_profile": getattr(args, f"profile_{side}"),
        "node": args.node,
        "nvml": args.nvml,
    }
    try:
        options = run_options(values)
        check_run(options)
    except OptionError as exc:
        # The option table names its own flags; this command calls them --plugin-a, --profile-b ...
        text = (
            str(exc)
            .replace("--plugin-cmd", f"--plugin-{side}")
            .replace("--plugin-profile", f"--profile-{side}")
        )
        raise UsageError(text.replace("--launcher", f"--launcher-{side}")) from None
    return f"{command} [{run_profile(options).name}]", options


def _tolerance(text: str) -> float:
    from harness.errors import UNKNOWN, ScenarioError
    from harness.loader import YNode
    from harness.model.duration import Duration

    try:
        return float(Duration.from_yaml(YNode(text, UNKNOWN)))
    except ScenarioError:
        raise UsageError(f"--tolerance {text!r}: give a duration such as 500ms or 2s") from None


def main(args: argparse.Namespace) -> int:
    quiet_grpc(False)
    from harness.diff.render import html_page, table
    from harness.diff.run import CaseDiff, DiffSide, diff_cases

    tolerance = _tolerance(args.tolerance)
    a, b = (DiffSide(*_side(args, side)) for side in ("a", "b"))
    base = reports_base(args.reports_dir) if args.reports_dir else None
    loaded = load(args.paths)
    scenarios = select(loaded.scenarios, args.keywords)
    if not scenarios:
        print(f"no cases selected ({len(loaded.scenarios)} loaded); nothing ran")
        return EXIT_USAGE if loaded.errors else EXIT_NOTHING

    def progress(case: CaseDiff) -> None:
        mark = "SAME" if not case.differences else f"DIFF {len(case.differences)}"
        print(f"{mark:<8} {case.case}", flush=True)

    cases = diff_cases(scenarios, a, b, workers=args.workers, tolerance=tolerance, on_case=progress)
    print()
    print(table(cases, a, b))
    if base is not None:
        from harness.reports.folder import new_run_folder, point_latest
        from harness.reports.html import write_index
        from harness.reports.write import write_case

        folder = new_run_folder(base)
        for side, results in (("a", [c.a for c in cases]), ("b", [c.b for c in cases])):
            (folder / side).mkdir()
            for result in results:
                write_case(folder / side, result)
            write_index(folder / side, results)
        page = html_page(cases, a, b, sides={"a": "a/index.html", "b": "b/index.html"})
        (folder / "index.html").write_text(page, encoding="utf-8")
        point_latest(base, folder)
        print(f"report: {folder / 'index.html'}", file=sys.stderr)
    if loaded.errors:
        return EXIT_USAGE
    return EXIT_FAILED if any(c.differences for c in cases) else EXIT_OK
