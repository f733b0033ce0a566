"""``dp-harness explore``: seeded random fault sequences, checked against invariants, shrunk to scenarios.

    dp-harness explore                                   # our plugin in-process, 120 s, seed 0
    dp-harness explore --seed 7 --budget 10m
    dp-harness explore --plugin-cmd '/usr/bin/my-plugin --socket-dir {socket_dir}' --plugin-profile nvidia

The plugin under test is chosen with the same options as ``dp-harness run`` (the option
table). Each session writes into its own folder under ``--reports-dir`` (``reports/<time>/``,
``reports/latest`` pointing at it): ``index.html``, ``reproducers/*.yaml`` and each replay's case
page. Exit status: 0 nothing broke, 1 an invariant broke (or a leak, or the harness itself),
2 bad input. See docs/explore.md.
"""

from __future__ import annotations

import argparse
import sys

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_run_options,
    options_from,
    program,
    reports_base,
)


def _duration(text: str) -> float:
    from harness.errors import UNKNOWN, ScenarioError
    from harness.loader import YNode
    from harness.model.duration import Duration

    try:
        seconds = float(Duration.from_yaml(YNode(text, UNKNOWN)))
    except ScenarioError:
        seconds = -1.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 60s, 10m, 1h)")
    return seconds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def _invariants(text: str) -> list[str]:
    from harness.explore.invariants import BY_NAME

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown or not names:
        what = f"unknown invariant {unknown[0]!r}" if unknown else "no invariant named"
        raise argparse.ArgumentTypeError(f"{what}; invariants: {', '.join(BY_NAME)}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from harness.explore.options import ExploreOptions

    defaults = ExploreOptions()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the fleet and the runs (0)")
    parser.add_argument(
        "--budget",
        type=_duration,
        default=defaults.budget,
        help=f"how long to explore ({defaults.budget:g}s; 10m, 1h)",
    )
    parser.add_argument(
        "--max-examples", type=_positive, default=defaults.max_examples, help="at most this many runs"
    )
    parser.add_argument(
        "--shrink-budget",
        type=_duration,
        default=defaults.shrink_budget,
        help=f"how long shrinking a violation may take ({defaults.shrink_budget:g}s; may pass --budget)",
    )
    parser.add_argument(
        "--steps", type=_positive, default=defaults.steps, help=f"actions per run ({defaults.steps})"
    )
    parser.add_argument(
        "--fleet-size",
        type=_positive,
        default=defaults.fleet_size,
        help=f"nodes in the seeded fleet ({defaults.fleet_size})",
    )
    parser.add_argument(
        "--invariants", type=_invariants, default=None, help="check only these (comma separated)"
    )
    add_run_options(parser)
    parser.add_argument(
        "--reports-dir", default="reports", help="where this session's folder goes (default: reports/)"
    )
    parser.add_argument("--no-replay", action="store_true", help="write reproducers without replaying them")


def main(args: argparse.Namespace) -> int:
    options = options_from(args)  # quiets gRPC before anything imports it
    if options.nvml == "real":
        raise UsageError("explore injects faults into a simulated node: --nvml real does not apply")
    if options.node:
        raise UsageError("explore draws its nodes from a seeded fleet (--fleet-size): --node does not apply")
    from harness.explore.explorer import explore
    from harness.explore.options import ExploreOptions
    from harness.explore.report import finding_text, progress_line, summary
    from harness.explore.session import Session
    from harness.reports.folder import new_run_folder, point_latest
    from harness.runner import run_profile

    explore_options = ExploreOptions(
        seed=args.seed,
        max_examples=args.max_examples,
        budget=args.budget,
        shrink_budget=args.shrink_budget,
        steps=args.steps,
        fleet_size=args.fleet_size,
        invariants=args.invariants,
        run_options=options,
    )
    profile = run_profile(options)
    print(f"plugin profile: {profile.name} ({profile.path})")
    tty = sys.stderr.isatty()

    def progress(session: Session) -> None:
        if tty:
            print("\r" + progress_line(session), end="", file=sys.stderr, flush=True)
        elif session.tally.runs % 25 == 0:
            print(progress_line(session), file=sys.stderr, flush=True)

    base = reports_base(args.reports_dir) if args.reports_dir else None
    folder = new_run_folder(base) if base is not None else None
    outcome = explore(explore_options, folder, program(), not args.no_replay, progress)
    if tty:
        print(file=sys.stderr)
    print(summary(outcome.session))
    for n, finding in enumerate(outcome.findings):
        print()
        print(finding_text(finding, outcome.replay_commands.get(n, "")))
    if base is not None and folder is not None:
        point_latest(base, folder)
        print(f"\nreport: {outcome.html}")
    return EXIT_OK if outcome.ok else EXIT_FAILED
