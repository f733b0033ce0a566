"""``dp-harness conformance``: the coverage table of docs/conformance.md (markdown)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import EXIT_OK, EXIT_USAGE, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["scenarios"], help="scenario folders (default: scenarios)"
    )


def main(args: argparse.Namespace) -> int:
    from harness.conformance import render

    loaded = load(args.paths)
    print(render(loaded.scenarios, Path.cwd()), end="")
    return EXIT_USAGE if loaded.errors else EXIT_OK
