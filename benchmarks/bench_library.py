"""The scenario library in one process, case after case: what holds, recovery and hung calls cost in
real time, per-case overhead, and whether RSS stays flat (issue 20, items 4 and 5).

Every case of ``scenarios/`` runs with ``run_scenario`` under the default options (our plugin
in-process, the simulated node), as pytest's one process would run them. Per case it records the
status, setup + teardown (overhead), run time, the virtual time its steps spanned and RSS after
it; per ``expect … for:`` step (a hold) its real and virtual length. Prints one JSON document
(``--json``) or a summary.

    python benchmarks/bench_library.py [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hung(path: str) -> bool:
    """A case whose plugin hangs a call (the stub's STUB_HANG), so a kubelet deadline must pass."""
    return "STUB_HANG" in Path(path).read_text(encoding="utf-8")


def run(limit: int = 0, root: Path = ROOT / "scenarios") -> dict[str, Any]:
    from harness.collect import load_all
    from harness.runner import RunOptions, run_scenario

    cases = load_all([root]).scenarios
    if limit:
        cases = cases[:limit]
    options = RunOptions()
    out: dict[str, Any] = {"cases": [], "holds": [], "rss_start_mib": rss_mib()}
    t0 = time.perf_counter()
    for case in cases:
        holds = {c.index for c in case.steps if getattr(c.step, "for_", None) is not None}
        result = run_scenario(case, options)
        virtual = max((s.t_end for s in result.steps), default=0.0)
        out["cases"].append(
            {
                "id": result.node_id,
                "status": str(result.status),
                "overhead_s": result.overhead_s,
                "run_s": result.run_s,
                "wall_s": result.duration_s,
                "virtual_s": virtual,
                "tags": list(case.tags),
                "hung": hung(case.path),
                "rss_mib": rss_mib(),
            }
        )
        for step in result.steps:
            if step.index in holds and step.status == "passed":
                out["holds"].append(
                    {"case": result.node_id, "wall_s": step.wall_s, "virtual_s": step.t_end - step.t_start}
                )
        del result
        gc.collect()
    out["wall_s"] = time.perf_counter() - t0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    data = run(args.limit)
    if args.json:
        print(json.dumps(data))
        return 0
    cases = data["cases"]
    ran = [c for c in cases if c["status"] != "skipped"]
    print(f"{len(cases)} cases ({len(ran)} ran) in {data['wall_s']:.1f} s")
    holds = data["holds"]
    print(
        f"{len(holds)} holds: {sum(h['wall_s'] for h in holds):.2f} s real for "
        f"{sum(h['virtual_s'] for h in holds):.1f} s virtual"
    )
    print(f"RSS {data['rss_start_mib']:.1f} -> {cases[-1]['rss_mib']:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
