"""Our plugin at 2,688 devices: 8 H100 x 7 MIG (1g.10gb) x 48 time-slicing replicas (issue 20).

The plugin runs in this process (mixed MIG strategy, one resource ``nvidia.com/mig-1g.10gb``)
against the fake kubelet. Figures: start → every device known; the size of one ListAndWatch
message; XID 79 on a GPU → all 336 devices on it Unhealthy at the kubelet (target ≤ 10 ms);
GetPreferredAllocation of 2 out of all 2,688 (target ≤ 5 ms); Allocate of one replica; RSS.

Run: ``python benchmarks/bench_scale.py [--rounds N]``.
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
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import grpc  # noqa: E402

from deviceplugin.v1beta1 import api_pb2 as pb  # noqa: E402
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target  # noqa: E402
from fake_kubelet import FakeKubelet  # noqa: E402
from fake_nvml import FakeNVML  # noqa: E402
from plugin import PluginManager, load_config  # noqa: E402

RESOURCE = "nvidia.com/mig-1g.10gb"
NODE = {"gpus": [{"product": "H100", "count": 8, "mig": ["1g.10gb"] * 7}]}
CONFIG = """version: v1
flags: {migStrategy: mixed}
sharing:
  timeSlicing:
    resources: [{name: nvidia.com/mig-1g.10gb, replicas: 48}]
"""
DEVICES = 8 * 7 * 48
PER_GPU = 7 * 48


class ScaleRig:
    """The 2,688-device node, the fake kubelet and our plugin, in this process."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bsc", dir="/tmp")
        self.node = FakeNVML.from_spec(NODE)
        config_file = os.path.join(self.dir, "config.yaml")
        Path(config_file).write_text(CONFIG, encoding="utf-8")
        self.kubelet = FakeKubelet(os.path.join(self.dir, "dp"))
        self.kubelet.start()
        logger = logging.getLogger(f"bench-scale-{id(self)}")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        config = load_config(
            ["--kubelet-socket", os.path.join(self.dir, "dp", "kubelet.sock"), "--config-file", config_file],
            {},
        )
        self.manager = PluginManager(dataclasses.replace(config, health_wait_ms=5000), self.node, logger)
        t0 = time.perf_counter()
        self.manager.start()
        self.kubelet.wait_for_allocatable(RESOURCE, DEVICES, timeout=60)
        self.start_ms = (time.perf_counter() - t0) * 1000
        self.socket = os.path.join(self.dir, "dp", "nvidia-mig-1g.10gb.sock")

    def unhealthy(self) -> int:
        return sum(1 for d in self.kubelet.resource(RESOURCE).devices if d.health != "Healthy")

    def xid_samples(self, rounds: int) -> list[float]:
        """ms from an XID on GPU g to all of g's 336 devices Unhealthy at the kubelet."""
        times = []
        for _ in range(rounds):
            for gpu in range(8):
                t0 = time.perf_counter()
                self.node.inject_xid(gpu, 79)
                # No pod holds a device, so allocatable counts the healthy devices (a count the
                # kubelet keeps, not a 2,688-device snapshot per wake-up as unhealthy() builds).
                self.kubelet.wait_until(
                    lambda g=gpu: self.kubelet.allocatable(RESOURCE) <= DEVICES - PER_GPU * (g + 1),
                    20,
                    "unhealthy",
                )
                times.append((time.perf_counter() - t0) * 1000)
            self.manager.rebuild("bench")  # every device Healthy again (not timed)
            self.kubelet.wait_for_allocatable(RESOURCE, DEVICES, timeout=60)
        return times

    def calls(self, samples: int) -> dict[str, Any]:
        ids = [d.id for d in self.kubelet.resource(RESOURCE).devices]
        preferred = pb.PreferredAllocationRequest(
            container_requests=[
                pb.ContainerPreferredAllocationRequest(available_deviceIDs=ids, allocation_size=2)
            ]
        )
        allocate = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=ids[:1])])
        out: dict[str, Any] = {"preferred": [], "allocate": [], "list_bytes": 0}
        with grpc.insecure_channel(unix_target(self.socket)) as channel:
            stub = api_pb2_grpc.DevicePluginStub(channel)
            stream = stub.ListAndWatch(pb.Empty())
            out["list_bytes"] = len(next(stream).SerializeToString())
            stream.cancel()
            for _ in range(3):
                stub.GetPreferredAllocation(preferred, timeout=10)
            for _ in range(samples):
                for key, call in (
                    ("preferred", lambda: stub.GetPreferredAllocation(preferred, timeout=10)),
                    ("allocate", lambda: stub.Allocate(allocate, timeout=10)),
                ):
                    t0 = time.perf_counter()
                    call()
                    out[key].append((time.perf_counter() - t0) * 1000)
        return out

    def close(self) -> None:
        self.manager.stop()
        self.kubelet.close()
        self.node.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(rounds: int, samples: int) -> dict[str, Any]:
    rig = ScaleRig()
    try:
        out = rig.calls(samples)
        out["xid"] = rig.xid_samples(rounds)
        out["start_ms"] = rig.start_ms
        out["rss_mib"] = rss_mib()
    finally:
        rig.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 8 XIDs")
    parser.add_argument("--samples", type=int, default=50)
    args = parser.parse_args()
    out = measure(args.rounds, args.samples)
    print(
        f"start -> all {DEVICES} devices known: {out['start_ms']:.0f} ms; ListAndWatch {out['list_bytes']} B"
    )
    for key in ("xid", "preferred", "allocate"):
        xs = sorted(out[key])
        print(f"{key:<10} n={len(xs):<4} p50={statistics.median(xs):8.3f} ms  max={xs[-1]:8.3f} ms")
    print(f"RSS {out['rss_mib']:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
