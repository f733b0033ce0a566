"""Our plugin against a third-party plugin binary (NVIDIA's v0.20.0), both as processes, in one run.

Each plugin runs as the harness runs a third-party plugin: a process in a private mount namespace
(``harness.launchers.namespace``) with the kubelet's socket dir at its real path and the
simulated node's GPUs seen through the NVML shim as the system's ``libnvidia-ml.so.1``. Ours is
``python -m plugin --nvml real`` there, so both read NVML the same way. Each gets its own fake
kubelet and 8xH100 node; the figures are taken interleaved (one sample of A, one of B), so both
see the same machine load:

- start → Register accepted, and → every device known (one sample each);
- kubelet restart → re-registration: the new ``kubelet.sock`` created (inotify) → Register accepted;
- Allocate of 2 GPUs, and a trivial unary call (GetDevicePluginOptions: each side's gRPC floor),
  from one Python client;
- XID 79 injected → that GPU Unhealthy at the kubelet;
- RSS after the run, CPU seconds over the run and CPU while idle.

Needs root and ``unshare`` (else it says why). Run:
``python benchmarks/bench_compare.py --against /path/to/nvidia-device-plugin [--samples N]``
(or ``NVIDIA_DEVICE_PLUGIN=PATH``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402
from inotify_simple import INotify  # noqa: E402
from inotify_simple import flags as in_flags  # noqa: E402

from deviceplugin.v1beta1 import api_pb2 as pb  # noqa: E402
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target  # noqa: E402
from fake_kubelet import FakeKubelet  # noqa: E402
from fake_nvml import FakeNVML  # noqa: E402
from harness.launchers.base import LaunchSpec  # noqa: E402
from harness.launchers.namespace import NamespaceLauncher, namespace_support  # noqa: E402
from simkit import ObservationLog  # noqa: E402

GPU = "nvidia.com/gpu"
OURS = "{python} -m plugin --nvml real"
SAMPLED = "{python} " + str(ROOT / "benchmarks" / "sampler.py") + " {profile} -m plugin --nvml real"
TICK = os.sysconf("SC_CLK_TCK")


def against_default() -> str:
    """The binary to compare with: ``NVIDIA_DEVICE_PLUGIN`` (as the opt-in test reads it), or ''."""
    return os.environ.get("NVIDIA_DEVICE_PLUGIN", "")


def unavailable(binary: str) -> str:
    """'' when the comparison can run here, else why not."""
    if not binary:
        return "no NVIDIA binary given (--against PATH or NVIDIA_DEVICE_PLUGIN=PATH)"
    if not os.access(binary, os.X_OK):
        return f"{binary} is not an executable file"
    return namespace_support()


def nvidia_command(binary: str) -> str:
    return f"{binary} --kubelet-socket {{kubelet_socket}}"


@dataclass
class Figures:
    """One plugin's samples, in ms (cpu in s, rss in MiB)."""

    register_ms: float = 0.0
    all_known_ms: float = 0.0
    reregister: list[float] = field(default_factory=list)
    allocate: list[float] = field(default_factory=list)
    trivial: list[float] = field(default_factory=list)
    xid: list[float] = field(default_factory=list)
    rss_mib: float = 0.0
    cpu_s: float = 0.0
    idle_cpu_ms_per_s: float = 0.0


class ProcRig:
    """A fake kubelet, an 8xH100 node on its socket, and one plugin process in a mount namespace."""

    def __init__(self, name: str, command: str, spec: str = "8xH100") -> None:
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="bc", dir="/tmp")
        self.sockets = os.path.join(self.dir, "dp")
        os.makedirs(self.sockets)
        self.log = ObservationLog()
        self.node = FakeNVML.from_spec(spec, log=self.log)
        nvml_socket = os.path.join(self.dir, "nvml.sock")
        self.server = self.node.serve(nvml_socket)
        self.kubelet = FakeKubelet(self.sockets, log=self.log)
        self.kubelet.start()
        self.n = len(self.node.gpus)
        launch = LaunchSpec(
            args=[],
            env={},
            socket_dir=self.sockets,
            kubelet_socket=os.path.join(self.sockets, "kubelet.sock"),
            nvml=self.node,
            nvml_endpoint=f"connect:{nvml_socket}",
            command=command.replace("{profile}", os.path.join(self.dir, "profile.txt")),
        )
        self.launcher = NamespaceLauncher(launch, self.log)
        self.figures = Figures()
        self.created: list[float] = []
        self._watch = INotify()
        self._watch.add_watch(self.sockets, in_flags.CREATE)
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch_sockets, daemon=True)
        self._watcher.start()

    def _watch_sockets(self) -> None:
        while not self._stop.is_set():
            for event in self._watch.read(timeout=100):
                if event.name == "kubelet.sock":
                    self.created.append(self.kubelet.clock.now())

    @property
    def pid(self) -> int:
        proc = self.launcher.proc
        assert proc is not None
        return proc.pid

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def armed(self, since: int) -> None:
        """Every device known and Healthy, and every GPU's event wait registered again."""
        self.kubelet.wait_for_allocatable(GPU, self.n, timeout=30)
        self.log.wait_for(
            lambda: len(self.log.events(source="node", kind="events_registered", since=since)) >= self.n, 30
        )

    def start(self) -> None:
        t0 = self.kubelet.clock.now()
        self.launcher.start()
        registered = self.kubelet.wait_for_registration(GPU, timeout=60)
        self.figures.register_ms = (registered.t - t0) * 1000
        self.kubelet.wait_for_allocatable(GPU, self.n, timeout=30)
        self.figures.all_known_ms = (self.kubelet.clock.now() - t0) * 1000
        self.armed(0)

    def reregister(self) -> None:
        since = self.log.last_seq
        before = len(self.created)
        self.kubelet.restart()
        registered = self.kubelet.wait_for_registration(GPU, since=since, timeout=20)
        self.kubelet.wait_until(lambda: len(self.created) > before, 5, "kubelet.sock created")
        self.figures.reregister.append((registered.t - self.created[-1]) * 1000)
        self.kubelet.wait_for_allocatable(GPU, self.n, timeout=20)

    def xid(self, gpu: int) -> None:
        uuid = self.node.gpus[gpu].uuid
        t0 = time.perf_counter()
        self.node.inject_xid(gpu, 79)
        self.kubelet.wait_until(
            lambda: any(d.id == uuid and d.health == "Unhealthy" for d in self.kubelet.resource(GPU).devices),
            10,
            "unhealthy",
        )
        self.figures.xid.append((time.perf_counter() - t0) * 1000)

    def rebuild(self) -> None:
        """SIGHUP: both plugins rebuild from a fresh look at the node (every GPU Healthy again)."""
        since = self.log.last_seq
        os.kill(self.pid, signal.SIGHUP)
        self.armed(since)

    def close(self) -> None:
        self._stop.set()
        try:
            self.launcher.stop()
        finally:
            self.launcher.close()
            self._watcher.join(1)
            self._watch.close()
            self.kubelet.close()
            self.server.close()
            self.node.close()

    def profile(self) -> list[str]:
        path = os.path.join(self.dir, "profile.txt")
        return Path(path).read_text(encoding="utf-8").splitlines() if os.path.exists(path) else []

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _time(out: list[float], call: Callable[[], Any]) -> None:
    t0 = time.perf_counter()
    call()
    out.append((time.perf_counter() - t0) * 1000)


def compare(
    binary: str, samples: int = 200, restarts: int = 20, xid_rounds: int = 3, ours: str = OURS
) -> dict[str, Figures]:
    """Both plugins, interleaved; {'ours': Figures, 'nvidia': Figures}. Raises when one misbehaves."""
    rigs = [ProcRig("ours", ours), ProcRig("nvidia", nvidia_command(binary))]
    try:
        cpu0 = {}
        for rig in rigs:
            rig.start()
            cpu0[rig.name] = rig.cpu_s()
        for _ in range(restarts):
            for rig in rigs:
                rig.reregister()
        channels = [
            grpc.insecure_channel(unix_target(os.path.join(r.sockets, "nvidia-gpu.sock"))) for r in rigs
        ]
        try:
            calls = []
            for rig, channel in zip(rigs, channels, strict=True):
                stub = api_pb2_grpc.DevicePluginStub(channel)
                ids = [g.uuid for g in rig.node.gpus[:2]]
                request = pb.AllocateRequest(
                    container_requests=[pb.ContainerAllocateRequest(devices_ids=ids)]
                )
                calls.append(
                    (rig.figures.trivial, lambda s=stub: s.GetDevicePluginOptions(pb.Empty(), timeout=5))
                )
                calls.append((rig.figures.allocate, lambda s=stub, r=request: s.Allocate(r, timeout=5)))
            for _ in range(50):
                for _, call in calls:
                    call()
            for _ in range(samples):
                for out, call in calls:
                    _time(out, call)
        finally:
            for channel in channels:
                channel.close()
        for round_ in range(xid_rounds):
            if round_:
                for rig in rigs:
                    rig.rebuild()
            for gpu in range(rigs[0].n):
                for rig in rigs:
                    rig.xid(gpu)
        for rig in rigs:
            rig.figures.cpu_s = rig.cpu_s() - cpu0[rig.name]
            rig.figures.rss_mib = rig.rss_mib()
        idle0 = {rig.name: rig.cpu_s() for rig in rigs}
        time.sleep(2.0)  # CPU while nothing happens: a poller shows here
        for rig in rigs:
            rig.figures.idle_cpu_ms_per_s = (rig.cpu_s() - idle0[rig.name]) * 1000 / 2.0
    finally:
        for rig in rigs:
            rig.close()
    out = {rig.name: rig.figures for rig in rigs}
    for rig in rigs:
        rig.cleanup()
    return out


def profile_ours(seconds_of_work: int = 60) -> list[str]:
    """Our plugin under the sampler through the same restarts and Allocates: its profile lines."""
    rig = ProcRig("ours", SAMPLED)
    try:
        rig.start()
        for _ in range(20):
            rig.reregister()
        with grpc.insecure_channel(unix_target(os.path.join(rig.sockets, "nvidia-gpu.sock"))) as channel:
            stub = api_pb2_grpc.DevicePluginStub(channel)
            ids = [g.uuid for g in rig.node.gpus[:2]]
            request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=ids)])
            for _ in range(seconds_of_work * 10):
                stub.Allocate(request, timeout=5)
    finally:
        rig.close()
    lines = rig.profile()
    rig.cleanup()
    return lines


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(results: dict[str, Figures]) -> list[str]:
    """The side-by-side lines: figure, ours, NVIDIA's, ratio."""
    a, b = results["ours"], results["nvidia"]
    rows: list[tuple[str, float, float, str]] = [
        ("start -> Register accepted (ms)", a.register_ms, b.register_ms, ""),
        ("start -> every device known (ms)", a.all_known_ms, b.all_known_ms, ""),
    ]
    for label, xs, ys in (
        ("kubelet restart -> re-registration", a.reregister, b.reregister),
        ("Allocate, 2 GPUs", a.allocate, b.allocate),
        ("trivial call (GetDevicePluginOptions)", a.trivial, b.trivial),
        ("XID 79 -> Unhealthy at the kubelet", a.xid, b.xid),
    ):
        rows.append((f"{label} p50 (ms)", statistics.median(xs), statistics.median(ys), f"n={len(xs)}"))
        rows.append((f"{label} p99 (ms)", pct(xs, 0.99), pct(ys, 0.99), ""))
    rows += [
        ("RSS after the run (MiB)", a.rss_mib, b.rss_mib, ""),
        ("CPU over the run (s)", a.cpu_s, b.cpu_s, ""),
        ("CPU while idle (ms per s)", a.idle_cpu_ms_per_s, b.idle_cpu_ms_per_s, ""),
    ]
    lines = [f"{'figure':<46} {'ours':>9} {'NVIDIA':>9} {'ours/NV':>8}"]
    for label, x, y, note in rows:
        ratio = f"{x / y:8.2f}" if y else f"{'-':>8}"
        lines.append(f"{label:<46} {x:9.3f} {y:9.3f} {ratio} {note}".rstrip())
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=against_default(), help="the other plugin's binary")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--restarts", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="also profile our plugin (sampler)")
    args = parser.parse_args()
    if why := unavailable(args.against):
        print(f"skipped: {why}")
        return 0
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("\n".join(table(compare(args.against, args.samples, args.restarts))))
    if args.profile:
        print("\n".join(profile_ours()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
