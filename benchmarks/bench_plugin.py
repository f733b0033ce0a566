"""Plugin latency figures (printed, p50/p99), against the fake kubelet and the fake NVML node.

1. XID injected → Unhealthy observed by the kubelet (target p99 ≤ 10 ms), with the node in this
   process and with the node behind its unix socket (``FakeNVML.connect``), as a plugin process sees it.
2. kubelet restart → re-registration (target ≤ 50 ms), timed from the moment the new
   ``kubelet.sock`` appears (our own inotify watch) to the kubelet accepting Register.
3. Allocate latency vs a trivial unary call (GetDevicePluginOptions) on the same unix socket in the
   same run (target p50 ratio ≤ 1.5).

Run: ``python benchmarks/bench_plugin.py [--samples N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from inotify_simple import INotify
from inotify_simple import flags as in_flags

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target
from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML
from plugin import PluginManager, load_config

GPU = "nvidia.com/gpu"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, seconds: list[float], target: str) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    figures = {"p50": statistics.median(ms), "p99": pct(ms, 0.99), "max": max(ms)}
    print(
        f"{name:<52} n={len(ms):<4} p50={figures['p50']:7.3f} ms  p99={figures['p99']:7.3f} ms  "
        f"max={figures['max']:7.3f} ms   (target {target})"
    )
    return figures


class Rig:
    """A fake kubelet, a node, and our plugin in this process."""

    def __init__(self, spec: str = "8xH100", connect: bool = False) -> None:
        self.dir = tempfile.mkdtemp(prefix="bp", dir="/tmp")
        self.node_dir = tempfile.mkdtemp(prefix="bn", dir="/tmp")  # the kubelet removes sockets in its dir
        self.node = FakeNVML.from_spec(spec)
        self.server = self.node.serve(f"{self.node_dir}/nvml.sock") if connect else None
        nvml: Any = FakeNVML.connect(f"{self.node_dir}/nvml.sock") if connect else self.node
        self.kubelet = FakeKubelet(self.dir)
        self.kubelet.start()
        logger = logging.getLogger(f"bench-{id(self)}")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        config = load_config(["--kubelet-socket", f"{self.dir}/kubelet.sock"], {})
        self.manager = PluginManager(dataclasses.replace(config, health_wait_ms=5000), nvml, logger)
        self.manager.start()
        self.n = len(self.node.gpus)
        self.kubelet.wait_for_allocatable(GPU, self.n)

    def close(self) -> None:
        self.manager.stop()
        self.kubelet.close()
        if self.server is not None:
            self.server.close()
        self.node.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.node_dir, ignore_errors=True)


def bench_xid(samples: int, connect: bool) -> dict[str, float]:
    rig = Rig(connect=connect)
    times = []
    try:
        while len(times) < samples:
            for gpu in range(rig.n):
                uuid = rig.node.gpus[gpu].uuid
                t0 = time.perf_counter()
                rig.node.inject_xid(gpu, 79)
                rig.kubelet.wait_until(
                    lambda u=uuid: any(
                        d.id == u and d.health == "Unhealthy" for d in rig.kubelet.resource(GPU).devices
                    ),
                    5,
                    "unhealthy",
                )
                times.append(time.perf_counter() - t0)
            rig.manager.rebuild("bench")  # every device Healthy again (not timed)
            rig.kubelet.wait_for_allocatable(GPU, rig.n)
    finally:
        rig.close()
    where = "node behind its socket" if connect else "node in process"
    return report(f"XID -> Unhealthy at the kubelet ({where})", times[:samples], "p99 <= 10 ms")


def bench_reregistration(samples: int) -> dict[str, float]:
    rig = Rig()
    created: list[float] = []
    seen = threading.Event()
    watch = INotify()
    watch.add_watch(rig.dir, in_flags.CREATE)
    stop = threading.Event()

    def watcher() -> None:
        while not stop.is_set():
            for event in watch.read(timeout=100):
                if event.name == "kubelet.sock":
                    created.append(rig.kubelet.clock.now())
                    seen.set()

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    times = []
    try:
        for _ in range(samples):
            seen.clear()
            since = rig.kubelet.log.last_seq
            rig.kubelet.restart()
            registered = rig.kubelet.wait_for_registration(GPU, since=since, timeout=10)
            assert seen.wait(5)
            times.append(registered.t - created[-1])
            rig.kubelet.wait_for_allocatable(GPU, rig.n)
    finally:
        stop.set()
        thread.join(1)
        watch.close()
        rig.close()
    return report("kubelet.sock created -> Register accepted", times, "<= 50 ms")


def bench_allocate(samples: int) -> tuple[dict[str, float], dict[str, float]]:
    rig = Rig()
    path = os.path.join(rig.dir, "nvidia-gpu.sock")
    ids = [g.uuid for g in rig.node.gpus[:2]]
    request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=ids)])
    trivial, alloc = [], []
    try:
        with grpc.insecure_channel(unix_target(path)) as channel:
            stub = api_pb2_grpc.DevicePluginStub(channel)
            calls: list[tuple[list[float], Callable[[], Any]]] = [
                (trivial, lambda: stub.GetDevicePluginOptions(pb.Empty(), timeout=5)),
                (alloc, lambda: stub.Allocate(request, timeout=5)),
            ]
            for _ in range(50):  # warm up both paths
                for _, call in calls:
                    call()
            for _ in range(samples):  # interleaved, so both see the same machine state
                for out, call in calls:
                    t0 = time.perf_counter()
                    call()
                    out.append(time.perf_counter() - t0)
    finally:
        rig.close()
    base = report("trivial unary call (GetDevicePluginOptions)", trivial, "baseline")
    figures = report("Allocate (2 GPUs, envvar)", alloc, "p50 <= 1.5x baseline")
    print(f"{'Allocate p50 / trivial p50':<52} ratio={figures['p50'] / base['p50']:.2f}")
    return base, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    logging.getLogger("gpu-device-plugin").addHandler(logging.NullHandler())
    print(f"python {sys.version.split()[0]}, grpcio {grpc.__version__}, {os.cpu_count()} CPUs")
    bench_xid(args.samples, connect=False)
    bench_xid(args.samples, connect=True)
    bench_reregistration(max(20, args.samples // 4))
    bench_allocate(args.samples * 5)


if __name__ == "__main__":
    main()
