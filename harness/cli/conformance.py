"""``dp-harness conformance``: the generated part of docs/conformance.md (markdown), or ``--write FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import EXIT_OK, EXIT_USAGE, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["scenarios"], help="scenario folders (default: scenarios)"
    )
    parser.add_argument("--write", metavar="FILE", default=None, help="replace the generated block in FILE")


def main(args: argparse.Namespace) -> int:
    from harness.conformance import render, splice

    loaded = load(args.paths)
    block = render(loaded.scenarios, Path.cwd())
    if args.write:
        target = Path(args.write)
        target.write_text(splice(target.read_text(encoding="utf-8"), block), encoding="utf-8")
    else:
        print(block, end="")
    return EXIT_USAGE if loaded.errors else EXIT_OK
