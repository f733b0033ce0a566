"""``dp-harness conformance``: the generated part of docs/conformance.md (markdown), or ``--write FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.common import EXIT_OK, EXIT_USAGE, UsageError, load, output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", default=["scenarios"], help="scenario folders (default: scenarios)"
    )
    parser.add_argument("--write", metavar="FILE", default=None, help="replace the generated block in FILE")


def main(args: argparse.Namespace) -> int:
    from harness.conformance import BEGIN, END, render, splice

    target = output_file(args.write, "--write", must_exist=True) if args.write else None
    loaded = load(args.paths)
    block = render(loaded.scenarios, Path.cwd())
    if target is not None:
        document = target.read_text(encoding="utf-8", errors="replace")
        if BEGIN not in document or END not in document:
            raise UsageError(f"--write {args.write!r}: no generated block ({BEGIN} ... {END}) to replace")
        target.write_text(splice(document, block), encoding="utf-8")
    else:
        print(block, end="")
    return EXIT_USAGE if loaded.errors else EXIT_OK
