"""Benchmark of the scenario runner: per-scenario overhead and suite wall time.

Prints figures (targets from issue 6): the median per-scenario overhead, i.e. setup + teardown
of the fake kubelet, the simulated node and the plugin (target <= 100 ms), and the wall time of
150 scenario cases with ``-n 2`` (target <= 30 s on 2 cores). The 150 cases are copies of a mix
of the library's short scenarios (registration, XID, kubelet restart, allocation, virtual time),
run by ``python -m harness run`` as a user would.

    python benchmarks/bench_suite.py [--cases 150] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIX = [
    "scenarios/registration/registers-gpus.yaml",
    "scenarios/health/xid-fatal-marks-unhealthy.yaml",
    "scenarios/kubelet/restart-reregisters.yaml",
    "scenarios/kubelet/stream-loss-grace-period.yaml",
    "scenarios/allocate/envvar-lists-healthy-uuids.yaml",
    "scenarios/allocate/direct-calls.yaml",
]


def overhead(repeat: int) -> list[float]:
    sys.path.insert(0, str(ROOT))
    from harness.model.scenario import load
    from harness.runner import run_scenario

    cases = [c for path in MIX for c in load(ROOT / path)]
    run_scenario(cases[0])  # warm up imports and gRPC
    samples = []
    for _ in range(repeat):
        for case in cases:
            result = run_scenario(case)
            if result.status != "passed":
                print(result.report(), file=sys.stderr)
            samples.append(result.overhead_s)
    return samples


def suite(cases: int, workers: int) -> tuple[float, int, str]:
    tmp = Path(tempfile.mkdtemp(prefix="bench", dir="/tmp"))
    try:
        per_file = {
            path: len(__import__("harness.model.scenario", fromlist=["load"]).load(ROOT / path))
            for path in MIX
        }
        made = 0
        i = 0
        while made < cases:
            path = MIX[i % len(MIX)]
            i += 1
            if made + per_file[path] > cases:
                continue
            target = tmp / f"{i:03d}-{Path(path).name}"
            target.write_text(
                (ROOT / path)
                .read_text(encoding="utf-8")
                .replace("../_fragments/", str(ROOT / "scenarios/_fragments") + "/"),
                encoding="utf-8",
            )
            made += per_file[path]
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "harness", "run", str(tmp), "-n", str(workers), "--no-reports"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
        return wall, made, last
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    samples = overhead(args.repeat)
    median = statistics.median(samples) * 1000
    p90 = sorted(samples)[int(len(samples) * 0.9)] * 1000
    print(
        f"per-scenario overhead (setup + teardown), {len(samples)} runs: median {median:.1f} ms, "
        f"p90 {p90:.1f} ms (target <= 100 ms)"
    )
    wall, made, last = suite(args.cases, args.workers)
    print(f"suite: {made} cases with -n {args.workers}: {wall:.1f} s wall (target <= 30 s) [{last}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
