"""``dp-harness schema``: the language reference that docs/scenarios.md embeds (markdown)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""


def main(args: argparse.Namespace) -> int:
    from harness.docs import reference

    print(reference())
    return 0
