"""Figures for the fake kubelet: registration, admission, restart, checkpoint and grace-period costs.

Run: ``python benchmarks/bench_kubelet.py [--rounds N]``. Prints wall-clock figures (ms); the
plugin is the tests' stub plugin, so this measures the kubelet side plus local gRPC.
Targets (issue 20): no 200 ms stall when the kubelet stops right after a registration; a
checkpoint write at 2,688 devices (8 H100 x 7 MIG x 48 replicas) <= 2 ms; 5,000
ListAndWatch updates through ``harness run`` in under 3 s (issue 16, item 7).
``--race N`` also opens N ListAndWatch streams just as the plugin's server stops, through the
kubelet's dial and through a channel with grpcio's transparent retries, and counts the streams
that never end (the fake kubelet's dial turns retries off; see fake_kubelet/rpc.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target
from fake_kubelet import Checkpoint, Container, FakeKubelet, Pod, PodDeviceEntry
from fake_kubelet import checkpoint as ckpt
from fake_kubelet.rpc import dial
from simkit import Clock, ObservationLog
from tests.fake_kubelet.stub_plugin import StubPlugin

GPU = "example.com/gpu"
DEVICES = [f"dev{i}" for i in range(8)]


def figures(name: str, samples_ms: list[float]) -> None:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"{name:<44} n={len(ordered):<4} p50={statistics.median(ordered):8.3f} ms  p95={p95:8.3f} ms")


def checkpoint_samples(rounds: int) -> tuple[list[float], list[float], float]:
    """Write and read a checkpoint of 2,688 replicated MIG devices with 56 pods holding one each:
    (write ms, read + verify ms, size in KB)."""
    ids = [f"MIG-{uuid.UUID(int=g * 7 + m)}::{r}" for g in range(8) for m in range(7) for r in range(48)]
    entries = [
        PodDeviceEntry(
            str(uuid.UUID(int=i)),
            "app",
            "nvidia.com/mig-1g.10gb",
            {0: [ids[i * 48]]},
            pb.ContainerAllocateResponse(envs={"NVIDIA_VISIBLE_DEVICES": ids[i * 48]}),
        )
        for i in range(56)
    ]
    data = Checkpoint(entries, {"nvidia.com/mig-1g.10gb": sorted(ids)})
    with tempfile.TemporaryDirectory(prefix="fkb", dir="/tmp") as folder:
        path = f"{folder}/kubelet_internal_checkpoint"
        writes, reads = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            ckpt.write(path, data)
            t1 = time.perf_counter()
            ckpt.read(path)
            t2 = time.perf_counter()
            writes.append((t1 - t0) * 1000)
            reads.append((t2 - t1) * 1000)
        size_kb = Path(path).stat().st_size / 1024
    return writes, reads, size_kb


def checkpoint_figures(rounds: int) -> None:
    writes, reads, size_kb = checkpoint_samples(rounds)
    figures(f"checkpoint write, 2,688 devices ({size_kb:.0f} KB)", writes)
    figures("checkpoint read + verify, 2,688 devices", reads)


BURST = "scenarios/kubelet/listandwatch-5000-updates.yaml"


def burst_wall() -> float:
    """The whole ``python -m harness run`` of 5,000 ListAndWatch updates, start to exit (s)."""
    root = Path(__file__).resolve().parents[1]
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", BURST, "--no-reports"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{BURST} failed:\n{done.stdout}{done.stderr}")
    return wall


def burst_figures() -> None:
    wall = burst_wall()
    print(f"{'harness run, 5,000 ListAndWatch updates':<44} {wall * 1000:8.0f} ms (target < 3,000)")


class _OneList(api_pb2_grpc.DevicePluginServicer):
    def ListAndWatch(self, request, context):  # type: ignore[no-untyped-def]
        yield pb.ListAndWatchResponse(devices=[pb.Device(ID="d0", health="Healthy")])
        ended = threading.Event()
        context.add_callback(ended.set)
        ended.wait()


def _hangs(path: str, channel: grpc.Channel, server: grpc.Server, delay: float) -> bool:
    """Open ListAndWatch while the server stops ``delay`` s later; True when the stream never ends."""
    ended = threading.Event()

    def read() -> None:
        try:
            for _ in api_pb2_grpc.DevicePluginStub(channel).ListAndWatch(pb.Empty()):
                pass
        except grpc.RpcError:
            pass
        ended.set()

    threading.Thread(target=read, daemon=True).start()
    time.sleep(delay)
    server.stop(None).wait(5)
    return not ended.wait(3)


def stream_race_figures(rounds: int) -> None:
    clock = Clock()
    retrying = [("grpc.default_authority", "localhost"), ("grpc.use_local_subchannel_pool", 1)]
    for name in ("the kubelet's dial (no retries)", "grpcio default (transparent retries)"):
        hung = 0
        for i in range(rounds):
            with tempfile.TemporaryDirectory(prefix="fkrace", dir="/tmp") as tmp:
                path = os.path.join(tmp, "p.sock")
                server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
                api_pb2_grpc.add_DevicePluginServicer_to_server(_OneList(), server)  # type: ignore[no-untyped-call]
                server.add_insecure_port(unix_target(path))
                server.start()
                if name.startswith("the kubelet"):
                    channel = dial(clock, path, 5.0)
                else:
                    channel = grpc.insecure_channel(unix_target(path), options=retrying)
                    grpc.channel_ready_future(channel).result(timeout=5)
                hung += _hangs(path, channel, server, 0.003 * (i % 5))
                channel.close()
        print(f"{'ListAndWatch vs server stop, ' + name:<60} {hung} of {rounds} never ended")
    clock.close()


def close_stall_samples(rounds: int) -> list[float]:
    """ms of ``FakeKubelet.restart()`` right after a registration, its plugin still serving: closing
    a freshly dialled channel must not wait for grpcio's connectivity watch (issue 20: 200 ms)."""
    clock = Clock()
    kubelet = FakeKubelet(log=ObservationLog(clock))
    kubelet.start()
    plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES).start()
    stops = []
    try:
        for _ in range(rounds):
            since = kubelet.log.last_seq
            plugin.register(kubelet.socket_path)
            kubelet.wait_for_event("devices", since=since, timeout=5)
            t0 = time.perf_counter()
            kubelet.restart()
            stops.append((time.perf_counter() - t0) * 1000)
            plugin.stop()
            plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES).start()
    finally:
        plugin.stop()
        kubelet.close()
        clock.close()
    return stops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--race", type=int, default=0, help="streams opened as the plugin stops")
    args = parser.parse_args()
    rounds = args.rounds
    if args.race:
        stream_race_figures(args.race)
    burst_figures()
    checkpoint_figures(rounds)
    clock = Clock()
    log = ObservationLog(clock)
    kubelet = FakeKubelet(log=log)
    kubelet.start()
    plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES, preferred=True).start()
    try:
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_allocatable(GPU, len(DEVICES), timeout=5)
        register, until_devices = [], []
        for _ in range(rounds):
            # A fresh instance each round: re-registering while the old stream stays open would pin
            # one more server thread per round (see domain facts B2).
            # Wait for the kubelet to see the old stream end: a late end would disconnect the new
            # instance in the "resource" profile (bug #121994, reproduced on purpose).
            since = log.last_seq
            plugin.stop()
            kubelet.wait_for_event("stream_end", since=since, timeout=5)
            plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES, preferred=True).start()
            since = log.last_seq
            t0 = time.perf_counter()
            plugin.register(kubelet.socket_path)
            t1 = time.perf_counter()
            kubelet.wait_for_event("devices", since=since, timeout=5)
            t2 = time.perf_counter()
            register.append((t1 - t0) * 1000)
            until_devices.append((t2 - t0) * 1000)
        figures("Register RPC (dial + options)", register)
        figures("Register call -> devices known", until_devices)

        admit, start = [], []
        for i in range(rounds * 4):
            pod = Pod(f"p{i}", [Container("app", {GPU: 2})])
            t0 = time.perf_counter()
            admission = kubelet.admit(pod)
            t1 = time.perf_counter()
            assert admission.admitted, admission.message
            kubelet.start_container(pod, "app")
            t2 = time.perf_counter()
            kubelet.delete_pod(pod)
            admit.append((t1 - t0) * 1000)
            start.append((t2 - t1) * 1000)
        figures("admit 2-device pod (preferred + Allocate)", admit)
        figures("start_container (no PreStart)", start)

        restarts = []
        for _ in range(max(5, rounds // 5)):
            plugin.stop()
            t0 = time.perf_counter()
            kubelet.restart()
            plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES, preferred=True).start()
            plugin.register(kubelet.socket_path)
            kubelet.wait_for_allocatable(GPU, 8, timeout=5)
            restarts.append((time.perf_counter() - t0) * 1000)
        figures("restart -> plugin re-registered -> 8 healthy", restarts)

        # The kubelet stops right after a registration, its plugin still serving: closing a
        # freshly dialled channel must not wait for a connectivity watch (issue 20: 200 ms each).
        stops = []
        for _ in range(max(5, rounds // 5)):
            plugin.stop()
            plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES, preferred=True).start()
            since = log.last_seq
            plugin.register(kubelet.socket_path)
            kubelet.wait_for_event("devices", since=since, timeout=5)
            t0 = time.perf_counter()
            kubelet.restart()
            stops.append((time.perf_counter() - t0) * 1000)
        figures("restart() right after a registration", stops)
        plugin.stop()
        plugin = StubPlugin(kubelet.socket_dir, devices=DEVICES, preferred=True).start()
        plugin.register(kubelet.socket_path)
        kubelet.wait_for_allocatable(GPU, len(DEVICES), timeout=5)

        plugin.stop()
        kubelet.wait_for_allocatable(GPU, 0, timeout=5)
        t0 = time.perf_counter()
        clock.advance(300)
        assert kubelet.capacity(GPU) == 0
        figures("grace period (300 s virtual) expiry", [(time.perf_counter() - t0) * 1000])
    finally:
        plugin.stop()
        t0 = time.perf_counter()
        kubelet.close()
        print(f"{'close()':<44} {(time.perf_counter() - t0) * 1000:8.3f} ms")
        clock.close()


if __name__ == "__main__":
    main()
