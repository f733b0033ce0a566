"""Benchmark of bad input: how long each broken file or command line takes to be answered.

Issue 13's promise: every bad input gets a one-line, located answer within 10 s (30 s for a 5 MB
file), with no traceback and no hang. This runs ``python -m harness validate`` (or the given
command) as a user would, one process per input, and prints the wall time, the exit status and
the first line of the answer; it flags any answer that is slow, a traceback or not exit 2.

Inputs: every file of ``tests/harness/broken/``, plus generated ones too big to commit (a valid
5 MB scenario, which must pass, and the same with an error on its last line).

    python benchmarks/bench_bad_input.py [--only PATTERN] [--size-mb 5]
"""

from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "harness" / "broken"
STEP = "  - expect: {registered: true, allocatable: 4, health: {all: Healthy}, within: 2s}\n"


def big_file(folder: Path, megabytes: float, broken: bool) -> Path:
    """A scenario of ``megabytes`` of steps (the last one misspelt when ``broken``)."""
    path = folder / f"big-{megabytes:g}mb{'-broken' if broken else ''}.yaml"
    count = int(megabytes * 1_000_000 / len(STEP))
    text = "description: a very long scenario\nsteps:\n" + STEP * count
    if broken:
        text += "  - expct: {registered: true}\n"
    path.write_text(text, encoding="utf-8")
    return path


def answer(argv: list[str], limit_s: float) -> tuple[float, int, str, bool]:
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit_s * 3, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, -1, "(no answer: killed)", True
    wall = time.perf_counter() - start
    first = (proc.stderr or proc.stdout).strip().splitlines()[:1]
    return wall, proc.returncode, first[0] if first else "", "Traceback" in proc.stderr + proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="*", help="glob on the input's name")
    parser.add_argument("--size-mb", type=float, default=5.0, help="size of the generated large file")
    args = parser.parse_args()
    python = sys.executable
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-bad", dir="/tmp") as tmp:
        inputs: list[tuple[str, list[str], float, int]] = [
            (p.name, [python, "-m", "harness", "validate", str(p)], 10.0, 2)
            for p in sorted(BROKEN.glob("*.yaml"))
            if not p.name.startswith("_")
        ]
        for broken in (False, True):
            path = big_file(Path(tmp), args.size_mb, broken)
            inputs.append(
                (path.name, [python, "-m", "harness", "validate", str(path)], 30.0, 2 if broken else 0)
            )
        print(f"{'input':<40} {'wall':>7}  {'exit':>4}  answer")
        for name, argv, limit_s, want in inputs:
            if not fnmatch.fnmatch(name, args.only):
                continue
            wall, code, first, traceback = answer(argv, limit_s)
            flags = []
            if wall > limit_s:
                flags.append(f"SLOW (> {limit_s:g} s)")
            if traceback:
                flags.append("TRACEBACK")
            if code != want:
                flags.append(f"EXIT {code}, want {want}")
            bad += bool(flags)
            shown = first if len(first) < 110 else first[:107] + "..."
            print(
                f"{name:<40} {wall:6.2f}s  {code:>4}  {shown}"
                + (f"  <-- {', '.join(flags)}" if flags else "")
            )
    print(f"\n{bad} inputs answered badly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
