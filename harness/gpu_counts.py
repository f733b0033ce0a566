"""How much of the library runs on a real node of 1, 2, 4 or 8 GPUs (``python -m harness.gpu_counts``).

The real-NVML path is measured, not estimated: for each GPU count a simulated node of that many
H100s stands in for the ``pynvml`` module, and every case goes through the same gate a
``--nvml real`` run uses (:func:`harness.runner.run_gate`: the machine's facts probed through
that ``pynvml``, the launcher, the profile's features). A nightly dry run on the NVML shim
(``tools/gpu_night_check.sh run --dry-run``, one recorded H100) runs and skips the same cases.
The share that matters is of the cases that need no simulation-only fault (lost GPUs, NVML call
errors, init failures...), since real GPUs cannot show those at all.

``--write docs/nightly.md`` replaces the block between the markers; a test keeps it current.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.requires import needs_simulation

COUNTS = (1, 2, 4, 8)
BEGIN = "<!-- BEGIN GPU COUNTS (python -m harness.gpu_counts) -->"
END = "<!-- END GPU COUNTS -->"


@dataclass
class CountRow:
    """What a real node of ``gpus`` GPUs runs of the library."""

    gpus: int
    cases: int = 0
    eligible: int = 0  # cases that need no simulation-only fault
    ran: int = 0  # cases the gate lets run (all of them eligible: real NVML runs nothing else)
    skipped: Counter[str] = field(default_factory=Counter)  # every skip, by reason
    folders: dict[str, Counter[str]] = field(default_factory=dict)  # folder -> cases, ran

    @property
    def share(self) -> float:
        return self.ran / self.eligible if self.eligible else 0.0


@contextlib.contextmanager
def stubbed_machine(gpus: int | str, product: str = "H100") -> Iterator[None]:
    """Make ``import pynvml`` give a simulated node of ``gpus`` GPUs for the duration (or the
    node a spec or node-profile file such as ``scenarios/_nodes/h100-80gb-hbm3-vm.yaml`` gives)."""
    from fake_nvml import FakeNVML
    from harness import realnode

    node = FakeNVML.from_spec(f"{gpus}x{product}" if isinstance(gpus, int) else gpus)
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


def _folder(scenario: Any) -> str:
    path = Path(scenario.path) if getattr(scenario, "path", None) else None
    return path.parent.name if path is not None else "?"


def count_row(scenarios: list[Any], gpus: int, profile: str | None = None) -> CountRow:
    """Run the real-mode gate over ``scenarios`` on a stubbed node of ``gpus`` GPUs."""
    from harness.context import Skip
    from harness.runner import RunOptions, run_gate, run_profile

    options = RunOptions(nvml="real", plugin_profile=profile)
    chosen = run_profile(options)
    row = CountRow(gpus, cases=len(scenarios))
    with stubbed_machine(gpus):
        for scenario in scenarios:
            folder = row.folders.setdefault(_folder(scenario), Counter())
            folder["cases"] += 1
            row.eligible += not needs_simulation(scenario)
            try:
                run_gate(scenario, options, chosen)
            except Skip as skip:
                row.skipped[str(skip)] += 1
                continue
            row.ran += 1
            folder["ran"] += 1
    return row


_NODE_HAS = re.compile(r", the node has \d+$")


def _gpus(n: int) -> str:
    return f"{n} GPU{'s' if n != 1 else ''}"


def render(rows: list[CountRow]) -> str:
    """The counts as markdown: totals, skips by reason, and what each folder runs."""
    lines = [
        "| GPUs | cases | run | skipped | need no simulation-only fault | run of those |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        skipped = sum(r.skipped.values())
        lines.append(f"| {r.gpus} | {r.cases} | {r.ran} | {skipped} | {r.eligible} | {r.share:.0%} |")
    # One line a reason; a GPU-count reason without its ", the node has N" (the column says N).
    by_reason = [Counter[str]() for _ in rows]
    for counter, r in zip(by_reason, rows, strict=True):
        for reason, n in r.skipped.items():
            counter[_NODE_HAS.sub("", reason)] += n
    reasons = sorted(set().union(*by_reason), key=lambda k: (-sum(c[k] for c in by_reason), k))
    head = " | ".join(_gpus(r.gpus) for r in rows)
    lines += ["", f"| skipped because | {head} |", "|---|" + "---:|" * len(rows)]
    for reason in reasons:
        lines.append(f"| {reason} | " + " | ".join(str(c[reason]) for c in by_reason) + " |")
    folders = sorted({f for r in rows for f in r.folders})
    lines += ["", "| folder | cases | " + " | ".join(f"run on {_gpus(r.gpus)}" for r in rows) + " |"]
    lines.append("|---|---:|" + "---:|" * len(rows))
    for name in folders:
        cases = max(r.folders.get(name, Counter())["cases"] for r in rows)
        ran = " | ".join(str(r.folders.get(name, Counter())["ran"]) for r in rows)
        lines.append(f"| {name} | {cases} | {ran} |")
    return "\n".join(lines)


def block(rows: list[CountRow]) -> str:
    """The generated block of docs/nightly.md, markers included."""
    return f"{BEGIN}\n\n{render(rows)}\n\n{END}\n"


def splice(document: str, generated: str) -> str:
    """``document`` with the block between the markers replaced by ``generated``."""
    start, stop = document.index(BEGIN), document.index(END) + len(END) + 1
    return document[:start] + generated + document[stop:]


def main(argv: list[str] | None = None) -> int:
    from harness.collect import load_all

    parser = argparse.ArgumentParser(prog="python -m harness.gpu_counts", description=__doc__)
    parser.add_argument("paths", nargs="*", default=["scenarios"])
    parser.add_argument("--plugin-profile", default=None, help="the profile to gate with (default: ours)")
    parser.add_argument("--gpus", type=int, nargs="*", default=list(COUNTS), help="GPU counts to measure")
    parser.add_argument("--write", metavar="FILE", default=None, help="replace the generated block in FILE")
    args = parser.parse_args(argv)
    loaded = load_all(args.paths)
    for error in loaded.errors:
        print(error, file=sys.stderr)
    rows = [count_row(loaded.scenarios, n, args.plugin_profile) for n in args.gpus]
    if args.write:
        target = Path(args.write)
        target.write_text(splice(target.read_text(encoding="utf-8"), block(rows)), encoding="utf-8")
    else:
        print(render(rows))
    return 2 if loaded.errors else 0


if __name__ == "__main__":
    sys.exit(main())
