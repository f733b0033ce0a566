"""Does RSS stay flat over a 10,000-event soak, and over 200 scenario cases in one process? (issue 20, 5)

- ``soak``: a fake kubelet and the tests' stub plugin with 8 devices share one observation log, as
  a scenario's do; the plugin changes one device's health 10,000 times and each change is waited
  for at the kubelet (one ``devices`` event each). RSS is read after the first 10 % (imports,
  gRPC and the allocator warmed up) and at the end.
- ``cases``: a mix of the library's short in-process cases, run with ``run_scenario`` until 200
  have run, after one warm-up round; RSS after the warm-up and after the last case.

Each mode prints one JSON line. Run each in a fresh process (``run_all.py`` does):
``python benchmarks/bench_memory.py soak [--events N]``, ``... cases [--cases N]``; ``--trace`` adds
the lines whose allocations grew most (tracemalloc).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_suite import MIX  # noqa: E402  (the same mix of cases as the suite benchmark)


def rss_mib() -> float:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _growth(before: Any, n: int = 6) -> list[str]:
    """The lines that allocated the most since ``before`` (a tracemalloc snapshot)."""
    import tracemalloc

    after = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    lines = []
    for stat in after.compare_to(before, "lineno")[:n]:
        frame = stat.traceback[0]
        where = "/".join(Path(frame.filename).parts[-2:])
        lines.append(
            f"{stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  {where}:{frame.lineno}"
        )
    return lines


def _snapshot(trace: bool) -> Any:
    if not trace:
        return None
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start()
    return tracemalloc.take_snapshot()


def soak(events: int, trace: bool = False) -> dict[str, Any]:
    from fake_kubelet import FakeKubelet
    from simkit import Clock, ObservationLog
    from tests.fake_kubelet.stub_plugin import StubPlugin, device

    clock = Clock()
    log = ObservationLog(clock)
    kubelet = FakeKubelet(log=log)
    kubelet.start()
    names = [f"dev{i}" for i in range(8)]
    plugin = StubPlugin(kubelet.socket_dir, devices=names).start()
    warm = max(1, events // 10)
    out: dict[str, Any] = {"events": events}
    t0 = time.perf_counter()
    try:
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_allocatable("example.com/gpu", len(names), timeout=10)
        for k in range(events):
            if k == warm:
                out["rss_warm_mib"] = rss_mib()
                before = _snapshot(trace)
                out["log_events_warm"] = len(log.events())
            since = log.last_seq
            sick = names[k % len(names)] if k % 2 == 0 else None
            plugin.set_devices([device(n, "Unhealthy" if n == sick else "Healthy") for n in names])
            kubelet.wait_for_event("devices", since=since, timeout=10)
        out["rss_end_mib"] = rss_mib()
        out["log_events_end"] = len(log.events())
        if trace:
            out["growth"] = _growth(before)
    finally:
        plugin.stop()
        kubelet.close()
        clock.close()
    out["wall_s"] = time.perf_counter() - t0
    return out


def cases(count: int, trace: bool = False) -> dict[str, Any]:
    from harness.model.scenario import load
    from harness.runner import RunOptions, run_scenario

    mix = [c for path in MIX for c in load(ROOT / path)]
    options = RunOptions()
    for case in mix:  # warm-up: imports, gRPC, the allocator
        run_scenario(case, options)
    out: dict[str, Any] = {"cases": count, "rss_warm_mib": rss_mib()}
    before = _snapshot(trace)
    failed = 0
    t0 = time.perf_counter()
    for k in range(count):
        result = run_scenario(mix[k % len(mix)], options)
        failed += result.status != "passed"
        del result
    out["rss_end_mib"] = rss_mib()
    out["failed"] = failed
    if trace:
        out["growth"] = _growth(before)
    out["wall_s"] = time.perf_counter() - t0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["soak", "cases"])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--trace", action="store_true", help="also the lines that grew most (tracemalloc)")
    args = parser.parse_args()
    out = soak(args.events, args.trace) if args.mode == "soak" else cases(args.cases, args.trace)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
