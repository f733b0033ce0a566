"""Latency through the NVML shim (libnvidia-ml.so.1), as a plugin process sees the node (issue 11).

1. Injection → ``nvmlEventSetWait_v2`` wake-up: another process blocks in the real pynvml on the
   shim; this one stamps the clock and injects an XID; the waiter stamps the clock when its wait
   returns (CLOCK_MONOTONIC is one clock for both). Target p99 ≤ 2 ms.
   The same through the done-when's setup: ``python -m fake_nvml serve 4xH100`` in its own
   process and the XID sent with ctl's ``inject`` op (target: within 10 ms).
2. XID → Unhealthy at the fake kubelet for our plugin as a process on the shim
   (``python -m plugin --nvml real``). Target p99 ≤ 10 ms. The same plugin process on
   ``--nvml connect:`` (the Python client, no shim) is measured alongside, for comparison.

Figures, not a test. Run: ``python benchmarks/bench_shim.py [-n N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML, NvmlClient, shim
from simkit import ObservationLog

GPU = "nvidia.com/gpu"

WAITER = """
import sys, time, pynvml
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
s = pynvml.nvmlEventSetCreate()
pynvml.nvmlDeviceRegisterEvents(h, pynvml.nvmlEventTypeXidCriticalError, s)
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    e = pynvml.nvmlEventSetWait(s, 10000)
    print(time.monotonic_ns(), e.eventData, flush=True)
"""


def report(name: str, ms: list[float], target: str) -> None:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"{name:<56} n={len(ordered):<4} p50={statistics.median(ordered):7.3f} ms  p99={p99:7.3f} ms  "
        f"max={ordered[-1]:7.3f} ms   (target {target})"
    )


def _waiter(socket: str, rounds: int) -> subprocess.Popen[str]:
    env = {**os.environ, **shim.environment(socket)}
    waiter = subprocess.Popen(
        [sys.executable, "-c", WAITER, str(rounds)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert waiter.stdout is not None and waiter.stdout.readline().strip() == "ready"
    return waiter


def _time_wakeups(waiter: subprocess.Popen[str], rounds: int, inject: Callable[[int], object]) -> list[float]:
    assert waiter.stdout is not None
    latencies = []
    for k in range(rounds):
        time.sleep(0.002)  # let the waiter block again: we time a blocked wait, not a queued event
        injected = time.monotonic_ns()
        inject(13 + k % 100)
        woke, xid = waiter.stdout.readline().split()
        assert int(xid) == 13 + k % 100
        latencies.append((int(woke) - injected) / 1e6)
    return latencies


def bench_wakeup(rounds: int, where: str) -> None:
    node = FakeNVML.from_spec("1xH100")
    socket = os.path.join(where, "nvml.sock")
    server = node.serve(socket)
    waiter = _waiter(socket, rounds)
    try:
        latencies = _time_wakeups(waiter, rounds, lambda xid: node.inject_xid(0, xid))
        report("XID injected -> nvmlEventSetWait_v2 returns (shim)", latencies, "p99 <= 2 ms")
    finally:
        waiter.kill()
        waiter.wait()
        server.close()
        node.close()


def bench_ctl(rounds: int, where: str) -> None:
    """The done-when's setup: ``python -m fake_nvml serve 4xH100``, a pynvml process, ctl's inject op."""
    socket = os.path.join(where, "nvml.sock")
    serve = [sys.executable, "-m", "fake_nvml", "serve", "4xH100", "--socket", socket]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    exports = [server.stdout.readline() for _ in range(2)]
    assert all(line.startswith("export ") for line in exports), exports
    waiter = _waiter(socket, rounds)
    control = NvmlClient(socket)
    try:
        latencies = _time_wakeups(waiter, rounds, lambda xid: control.inject("xid", xid=xid, gpu=0))
        report("ctl's inject op (served node) -> wait returns in pynvml", latencies, "<= 10 ms")
    finally:
        control.close()
        waiter.kill()
        waiter.wait()
        server.terminate()
        server.wait(10)


def bench_unhealthy(samples: int, where: str, nvml: str = "real") -> None:
    log = ObservationLog()
    node = FakeNVML.from_spec("8xH100", log=log)
    socket = os.path.join(where, "nvml.sock")
    server = node.serve(socket)
    sockets = os.path.join(where, "dp")
    os.makedirs(sockets)
    kubelet = FakeKubelet(sockets, log=log)
    kubelet.start()
    endpoint = "real" if nvml == "real" else f"connect:{socket}"
    command = [sys.executable, "-m", "plugin", "--nvml", endpoint, "--socket-dir", sockets]
    command += ["--kubelet-socket", os.path.join(sockets, "kubelet.sock")]
    env = {**os.environ, **shim.environment(socket)}
    plugin = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    n = len(node.gpus)
    times: list[float] = []
    since = 0
    try:
        while len(times) < samples:
            kubelet.wait_for_allocatable(GPU, n, timeout=30)
            log.wait_for(
                lambda since=since: (
                    len(log.events(source="node", kind="events_registered", since=since)) >= n
                ),
                30,
            )
            for gpu in range(n):
                uuid = node.gpus[gpu].uuid
                t0 = time.perf_counter()
                node.inject_xid(gpu, 79)
                kubelet.wait_until(
                    lambda u=uuid: any(
                        d.id == u and d.health == "Unhealthy" for d in kubelet.resource(GPU).devices
                    ),
                    5,
                    "unhealthy",
                )
                times.append((time.perf_counter() - t0) * 1000)
            if len(times) < samples:
                since = log.last_seq
                plugin.send_signal(signal.SIGHUP)  # rebuild: every GPU Healthy again (not timed)
        how = "on the shim" if nvml == "real" else "on connect:"
        report(f"XID -> Unhealthy at the kubelet (our plugin {how})", times[:samples], "p99 <= 10 ms")
    finally:
        stopping = time.perf_counter()
        plugin.terminate()
        try:
            plugin.wait(10)
        except subprocess.TimeoutExpired:
            plugin.kill()
            plugin.wait()
        print(f"(the plugin took {time.perf_counter() - stopping:.2f} s to stop after SIGTERM)")
        kubelet.close()
        server.close()
        node.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="samples per figure (default 300)")
    args = parser.parse_args()
    print(f"shim {shim.library_path()}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"load average {os.getloadavg()[0]:.1f}")
    runs = [
        lambda w: bench_wakeup(args.n, w),
        lambda w: bench_ctl(args.n, w),
        lambda w: bench_unhealthy(args.n, w),
    ]
    runs.append(lambda w: bench_unhealthy(args.n, w, nvml="connect"))
    for run in runs:
        where = tempfile.mkdtemp(prefix="bs", dir="/tmp")
        try:
            run(where)
        finally:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
