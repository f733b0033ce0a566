"""``dp-harness validate``: check scenario files (``file:line:col`` errors) without running them."""

from __future__ import annotations

import argparse

from harness.cli.common import EXIT_OK, EXIT_USAGE, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", help="scenario files or folders")


def main(args: argparse.Namespace) -> int:
    loaded = load(args.paths)
    files = len({s.path for s in loaded.scenarios})
    print(f"{files} scenario files valid ({len(loaded.scenarios)} cases), {len(loaded.errors)} invalid")
    return EXIT_USAGE if loaded.errors else EXIT_OK
