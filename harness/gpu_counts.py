"""How much of the library runs on a real node of 1, 2, 4 or 8 GPUs (``python -m harness.gpu_counts``).

The real-NVML path is measured, not estimated: for each GPU count a simulated node of that many
H100s stands in for the ``pynvml`` module, and every case goes through the same gate a
``--nvml real`` run uses (:func:`harness.runner.run_gate`). The share that matters is of the
cases that need no simulation-only fault (lost GPUs, NVML call errors, init failures...), since
real GPUs cannot show those at all.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.requires import needs_simulation

COUNTS = (1, 2, 4, 8)


@dataclass
class CountRow:
    """What a real node of ``gpus`` GPUs runs of the library."""

    gpus: int
    cases: int = 0
    eligible: int = 0  # cases that need no simulation-only fault
    ran: int = 0  # of the eligible ones, those the gate lets run
    skipped: Counter[str] = field(default_factory=Counter)  # every skip, by reason

    @property
    def share(self) -> float:
        return self.ran / self.eligible if self.eligible else 0.0


@contextlib.contextmanager
def stubbed_machine(gpus: int, product: str = "H100") -> Iterator[None]:
    """Make ``import pynvml`` give a simulated node of ``gpus`` GPUs for the duration."""
    from fake_nvml import FakeNVML
    from harness import realnode

    node = FakeNVML.from_spec(f"{gpus}x{product}")
    saved = sys.modules.get("pynvml")
    sys.modules["pynvml"] = node  # type: ignore[assignment]
    realnode.machine_facts.cache_clear()
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["pynvml"] = saved
        else:
            del sys.modules["pynvml"]
        realnode.machine_facts.cache_clear()
        node.close()


def count_row(scenarios: list[Any], gpus: int, profile: str | None = None) -> CountRow:
    """Run the real-mode gate over ``scenarios`` on a stubbed node of ``gpus`` GPUs."""
    from harness.context import Skip
    from harness.runner import RunOptions, run_gate, run_profile

    options = RunOptions(nvml="real", plugin_profile=profile)
    chosen = run_profile(options)
    row = CountRow(gpus, cases=len(scenarios))
    with stubbed_machine(gpus):
        for scenario in scenarios:
            eligible = not needs_simulation(scenario)
            row.eligible += eligible
            try:
                run_gate(scenario, options, chosen)
            except Skip as skip:
                row.skipped[str(skip)] += 1
                continue
            row.ran += eligible
    return row


def render(rows: list[CountRow]) -> str:
    lines = [
        "| GPUs | cases | need no simulation-only fault | run | share | skipped |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.gpus} | {r.cases} | {r.eligible} | {r.ran} | {r.share:.0%} | {sum(r.skipped.values())} |"
        )
    for r in rows:
        lines += ["", f"Skipped on {r.gpus} GPU{'s' if r.gpus > 1 else ''}, by reason:", ""]
        lines += [f"- {n:>3}  {reason}" for reason, n in r.skipped.most_common()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from harness.collect import load_all

    parser = argparse.ArgumentParser(prog="python -m harness.gpu_counts", description=__doc__)
    parser.add_argument("paths", nargs="*", default=["scenarios"])
    parser.add_argument("--plugin-profile", default=None, help="the profile to gate with (default: ours)")
    parser.add_argument("--gpus", type=int, nargs="*", default=list(COUNTS), help="GPU counts to measure")
    args = parser.parse_args(argv)
    loaded = load_all(args.paths)
    for error in loaded.errors:
        print(error, file=sys.stderr)
    print(render([count_row(loaded.scenarios, n, args.plugin_profile) for n in args.gpus]))
    return 2 if loaded.errors else 0


if __name__ == "__main__":
    sys.exit(main())
