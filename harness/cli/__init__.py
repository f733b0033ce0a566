"""``dp-harness`` (and ``python -m harness``): the command table, and where errors become exit codes.

    dp-harness run scenarios/ [-k EXPR] [-n N|auto] [--nvml sim|real] [--plugin-cmd CMD] [--launcher L]
    dp-harness run 'scenarios/health/xid-fatal-marks-unhealthy.yaml::xid-fatal-marks-unhealthy[79]'
    dp-harness validate scenarios/
    dp-harness show scenarios/health/xid-fatal-marks-unhealthy.yaml [--case 79]
    dp-harness schema            # the reference tables of docs/scenarios.md
    dp-harness conformance       # the generated part of docs/conformance.md
    dp-harness diff scenarios/ --plugin-a ours --plugin-b CMD   # kubelet-visible differences
    dp-harness nightly run|preflight|jobs|merge   # real GPU nodes (docs/nightly.md)
    dp-harness explore [--seed N] [--budget 60s]   # random fault sequences (docs/explore.md)

Each command is a module of this package with ``add_arguments(parser)`` and ``main(args) ->
int``; adding one is a module and a row of :data:`COMMANDS`. Exit status: 0 all passed (or
skipped), 1 a case failed, 2 bad input (an invalid scenario file, a bad flag: one message,
no traceback), 5 nothing selected (as pytest).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import typing
from dataclasses import dataclass

from harness import interrupts
from harness.cli.common import EXIT_USAGE, PROG, UsageError
from harness.errors import ScenarioError, did_you_mean
from harness.limits import LimitError


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    module: str  # defines add_arguments(parser) and main(args) -> int


COMMANDS: tuple[Command, ...] = (
    Command("run", "run scenarios and write reports", "harness.cli.run"),
    Command("validate", "check scenario files without running them", "harness.cli.validate"),
    Command("show", "run one scenario case and print its steps and timeline", "harness.cli.show"),
    Command("schema", "print the language reference (markdown)", "harness.cli.schema"),
    Command("conformance", "print the generated part of docs/conformance.md", "harness.cli.conformance"),
    Command("diff", "run cases with two plugins, list what the kubelet saw differently", "harness.cli.diff"),
    Command(
        "nightly", "the nightly run on real GPU nodes: run, preflight, jobs, merge", "harness.cli.nightly"
    ),
    Command(
        "explore",
        "random fault sequences checked against invariants, shrunk to scenarios",
        "harness.cli.explore",
    ),
)


# pytest's own flags, which users bring over from ``pytest scenarios/ ...``; dp-harness does not take them.
PYTEST_FLAGS = frozenset(
    "-x --exitfirst --lf --last-failed --ff --failed-first --sw --stepwise -v --verbose -q --quiet "
    "-s --capture --pdb --tb -r -p -m --maxfail --co --collect-only --junitxml --durations -W -l "
    "--showlocals --timeout --deselect --ignore -c --rootdir".split()
)


class OneLineParser(argparse.ArgumentParser):
    """argparse that answers a bad command line in one line (``dp-harness run: ...``), exit 2,
    instead of its usage block: the line names the flag and what it takes, and says where help is."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _unknown(command: argparse.ArgumentParser, extra: list[str]) -> str:
    """The line for flags that no parser took: a pytest flag says so and how to use it there."""
    flags = [word.partition("=")[0] for word in extra if word.startswith("-")]
    pytest_flags = [f for f in flags if f in PYTEST_FLAGS or (f[:2] in PYTEST_FLAGS and f[1:2] != "-")]
    if pytest_flags:
        shown = " ".join(pytest_flags)
        return (
            f"{command.prog}: {shown} is a pytest flag, not one of {PROG}'s; "
            f"run the same files with pytest to use it: pytest SCENARIOS {shown}"
        )
    known = [o for action in command._actions for o in action.option_strings]
    hint = did_you_mean(flags[0], known) if flags else ""
    what = "unknown flag" if flags else "unexpected argument"
    shown = " ".join(extra)
    return f"{command.prog}: {what} {shown}" + (f"; {hint}" if hint else f" (see {command.prog} --help)")


def parser() -> OneLineParser:
    top = OneLineParser(prog=PROG, description="GPU device plugin scenarios")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        module = importlib.import_module(command.module)
        module.add_arguments(sub.add_parser(command.name, help=command.help, description=command.help))
    return top


def main(argv: list[str] | None = None) -> int:
    top = parser()
    args, extra = top.parse_known_args(argv)
    command = next(c for c in COMMANDS if c.name == args.command)
    if extra:
        print(_unknown(_subparser(top, args), extra), file=sys.stderr)
        return EXIT_USAGE
    interrupts.install()
    try:
        code: int = importlib.import_module(command.module).main(args)
        return code
    except KeyboardInterrupt as exc:  # between cases, or in a command with no session
        signum = interrupts.signum(exc)
        print(f"\n{PROG}: interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, LimitError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)  # one line, whatever the error
        return EXIT_USAGE


def _subparser(top: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command's parser that ``args`` came through (``dp-harness nightly run``'s, say)."""
    parser = top
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or getattr(args, subs[0].dest, None) not in subs[0].choices:
            return parser
        parser = subs[0].choices[getattr(args, subs[0].dest)]
