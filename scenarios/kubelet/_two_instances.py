"""An older instance of a GPU device plugin hands over to ours, as in a DaemonSet rollout.

Used by the scenarios beside it (plugin.command): the old instance serves the node's GPUs as
nvidia.com/gpu on $OLD_ENDPOINT (default nvidia-gpu.sock, the path NVIDIA's plugin always uses) and
registers; then our plugin (plugin.PluginManager, in this process, configured from the remaining
arguments and the environment) starts and registers the same resource; once the kubelet streams
from ours, the old instance exits (its server stops, its ListAndWatch stream ends). Every line goes
to stdout: "old-instance ..." for the old one, our plugin's own log lines for ours.

usage: python _two_instances.py SOCKET_DIR KUBELET_SOCKET NVML [plugin flags...]
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from concurrent import futures

import grpc

import plugin
from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc as rpc
from deviceplugin.v1beta1 import unix_target
from plugin.__main__ import make_nvml

WAIT_S = 10.0


_PRINT = threading.Lock()  # both instances print from several threads: keep lines whole


def emit(line: str) -> None:
    with _PRINT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def say(*words: object) -> None:
    emit(" ".join(["old-instance", *map(str, words)]))


class OldInstance(rpc.DevicePluginServicer):
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.streaming = threading.Event()

    def GetDevicePluginOptions(self, request, context):
        return pb.DevicePluginOptions(get_preferred_allocation_available=False)

    def ListAndWatch(self, request, context):
        done = threading.Event()
        context.add_callback(done.set)
        self.streaming.set()
        yield pb.ListAndWatchResponse(devices=[pb.Device(ID=i, health="Healthy") for i in self.ids])
        done.wait()


class Lines(logging.Handler):
    """Our plugin's log lines to stdout; notes when the kubelet opened our stream."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.streaming = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        emit(line)
        if line.startswith("list-and-watch-opened"):
            self.streaming.set()


def main() -> int:
    socket_dir, kubelet, nvml_spec, *flags = sys.argv[1:]
    endpoint = os.environ.get("OLD_ENDPOINT", "nvidia-gpu.sock")
    nvml = make_nvml(nvml_spec)
    nvml.nvmlInit()
    count = nvml.nvmlDeviceGetCount()
    ids = [nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)]
    nvml.nvmlShutdown()

    old = OldInstance(ids)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    rpc.add_DevicePluginServicer_to_server(old, server)
    server.add_insecure_port(unix_target(os.path.join(socket_dir, endpoint)))
    server.start()
    with grpc.insecure_channel(unix_target(kubelet)) as channel:
        rpc.RegistrationStub(channel).Register(
            pb.RegisterRequest(
                version="v1beta1",
                endpoint=endpoint,
                resource_name="nvidia.com/gpu",
                options=pb.DevicePluginOptions(),
            ),
            timeout=WAIT_S,
        )
    say("registered", endpoint)
    if not old.streaming.wait(WAIT_S):
        say("error: the kubelet never opened a stream")
        return 3

    lines = Lines()
    logger = logging.getLogger("two-instances")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [lines]
    config = plugin.load_config(["--socket-dir", socket_dir, "--kubelet-socket", kubelet, *flags], os.environ)
    manager = plugin.PluginManager(config, nvml, logger)
    signal.signal(signal.SIGTERM, lambda *_: manager.request_stop("SIGTERM"))
    signal.signal(signal.SIGHUP, lambda *_: manager.request_rebuild("sighup"))
    manager.start()
    if not (manager.wait_registered(timeout=WAIT_S) and lines.streaming.wait(WAIT_S)):
        say("error: our plugin did not register and stream")
    server.stop(grace=None).wait(WAIT_S)
    say("exited", endpoint)
    manager.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
