"""``python -m harness explore``: seeded random fault sequences, checked against invariants, shrunk.

    python -m harness explore                       # our plugin in-process, 60 s, seed 0
    python -m harness explore --seed 7 --budget 10m
    python -m harness explore --plugin-cmd '/usr/bin/my-plugin --socket-dir {socket_dir}'

Exit status: 0 nothing broke, 1 an invariant broke (or a leak, or the harness itself), 2 bad input.
A command module: ``add_arguments(parser)`` and ``main(args)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.explore.explorer import explore
from harness.explore.invariants import BY_NAME
from harness.explore.report import finding_text, progress_line, summary
from harness.explore.session import ExploreOptions, Session
from harness.model.duration import Duration
from harness.options import RunOptions

HELP = "explore seeded random fault sequences against invariants; shrink violations to scenarios"


def _duration(text: str) -> float:
    parsed = Duration.parse_text(text)
    if parsed is None or parsed <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 60s, 10m, 1h)")
    return float(parsed)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def _invariants(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown invariant {unknown[0]!r}; invariants: {', '.join(BY_NAME)}"
        )
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = ExploreOptions()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the fleet and the runs")
    parser.add_argument("--budget", type=_duration, default=defaults.budget, help="how long to explore (60s)")
    parser.add_argument(
        "--max-examples", type=_positive, default=defaults.max_examples, help="at most this many runs"
    )
    parser.add_argument(
        "--shrink-budget",
        type=_duration,
        default=defaults.shrink_budget,
        help="how long shrinking one violation may take (3m; it may run past --budget)",
    )
    parser.add_argument("--steps", type=_positive, default=defaults.steps, help="actions per run (6)")
    parser.add_argument(
        "--fleet-size", type=_positive, default=defaults.fleet_size, help="nodes in the fleet"
    )
    parser.add_argument(
        "--invariants",
        type=_invariants,
        default=None,
        help=f"check only these (comma separated): {', '.join(BY_NAME)}",
    )
    parser.add_argument(
        "--out", default="reports/explore", help="reproducers and index.html (reports/explore)"
    )
    parser.add_argument("--no-replay", action="store_true", help="write reproducers without replaying them")
    parser.add_argument(
        "--plugin-cmd", default=None, help="run this plugin command line instead of ours in-process"
    )
    parser.add_argument("--launcher", default=None, help="how to run it (inprocess, subprocess, namespace)")


def main(args: argparse.Namespace) -> int:
    if args.plugin_cmd is not None and not args.plugin_cmd.strip():
        print("explore: --plugin-cmd is empty; give the plugin's command line", file=sys.stderr)
        return 2
    options = ExploreOptions(
        seed=args.seed,
        max_examples=args.max_examples,
        budget=args.budget,
        shrink_budget=args.shrink_budget,
        steps=args.steps,
        fleet_size=args.fleet_size,
        invariants=args.invariants,
        run_options=RunOptions(plugin_cmd=args.plugin_cmd, launcher=args.launcher),
    )
    tty = sys.stderr.isatty()

    def progress(session: Session) -> None:
        if tty:
            print("\r" + progress_line(session), end="", file=sys.stderr, flush=True)
        elif session.tally.runs % 50 == 0:
            print(progress_line(session), file=sys.stderr, flush=True)

    program = "python -m harness" if Path(sys.argv[0]).name in ("__main__.py", "-m", "") else sys.argv[0]
    outcome = explore(options, Path(args.out) if args.out else None, program, not args.no_replay, progress)
    if tty:
        print(file=sys.stderr)
    print(summary(outcome.session))
    for n, finding in enumerate(outcome.findings):
        print()
        print(finding_text(finding, outcome.replay_commands.get(n, "")))
    if outcome.html is not None:
        print(f"\nreport: {outcome.html}")
    return 0 if outcome.ok else 1
