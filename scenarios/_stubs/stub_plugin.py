"""A small third-party device plugin for the kubelet scenarios (not ours: it is the kubelet under test).

Configured by environment variables; every call it gets is printed as a ``stub[<instance>] <call>``
line (the plugin's log in the scenario), so a scenario can tell which instance served what.

- ``STUB_RESOURCE`` (example.com/gpu), ``STUB_ENDPOINT`` (stub.sock).
- ``STUB_DEVICES``: ``Dev0@0,Dev1@0,Dev2@1`` (ID@NUMA node, ``@`` omitted: no topology) or a
  count (``2``: stub-0, stub-1); all Healthy.
- ``STUB_PREFERRED=1``: GetPreferredAllocation available; ``STUB_ANSWERS``: its answers in turn,
  ``Dev0,Dev5;Dev1,Dev4`` (then: the must-include devices, then the available ones in order).
- ``STUB_PRESTART=1``: PreStartContainer required.
- ``STUB_HANG``: a method to hang in (``Allocate``, ``PreStartContainer``, ``GetPreferredAllocation``).
- ``STUB_LAW_FAIL=1``: ListAndWatch fails at once; ``STUB_OPTIONS_FAIL=1``: GetDevicePluginOptions fails.
- ``STUB_UPDATES=N``: after the first list, N more, the last device's health flipping each time.
- ``STUB_WATCHER=1``: register through the kubelet's plugin watcher (probe mode) instead of Register:
  serve the watcher's Registration on ``<registry>/<endpoint>`` (argument 3; the scenario passes
  ``{socket_dir}/../plugins_registry``); ``STUB_WATCHER_VERSIONS`` (v1beta1), ``STUB_WATCHER_NAME``.
  The first SIGHUP then unlinks that socket while the server and its stream keep running.
- ``STUB_ROLLOUT=1``: a rolling update in one process. Instance A serves ``STUB_ENDPOINT`` and
  registers; the first SIGHUP starts instance B on ``STUB_ENDPOINT2`` (new.sock), which registers
  too (with ``STUB_B_OPTIONS_FAIL=1`` its GetDevicePluginOptions fails); the second SIGHUP stops A
  (``STUB_LEAVE=B``: stops B instead, the newest leaving while the older serves).

usage: python stub_plugin.py SOCKET_DIR KUBELET_SOCKET [PLUGINS_REGISTRY]
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent import futures

import grpc

from deviceplugin.pluginregistration.v1 import api_pb2 as reg
from deviceplugin.pluginregistration.v1 import api_pb2_grpc as reg_rpc
from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc as rpc
from deviceplugin.v1beta1 import unix_target

env = os.environ.get
_PRINT = threading.Lock()
_SIGNALS = {signal.SIGHUP, signal.SIGTERM}


def say(instance: str, *words: object) -> None:
    with _PRINT:
        sys.stdout.write(" ".join([f"stub[{instance}]", *map(str, words)]) + "\n")
        sys.stdout.flush()


def devices() -> list[pb.Device]:
    spec = env("STUB_DEVICES", "2")
    if spec.isdigit():
        return [pb.Device(ID=f"stub-{i}", health="Healthy") for i in range(int(spec))]
    out = []
    for item in spec.split(","):
        name, _, numa = item.strip().partition("@")
        topology = pb.TopologyInfo(nodes=[pb.NUMANode(ID=int(numa))]) if numa else None
        out.append(pb.Device(ID=name, health="Healthy", topology=topology))
    return out


class Stub(rpc.DevicePluginServicer):
    def __init__(self, name: str, endpoint: str, options_fail: bool = False) -> None:
        self.name = name
        self.endpoint = endpoint
        self.options_fail = options_fail
        self.stopped = threading.Event()
        self.answers = [a.split(",") for a in env("STUB_ANSWERS", "").split(";") if a]
        self.server: grpc.Server | None = None

    def hang(self, method: str) -> None:
        if env("STUB_HANG") == method:
            say(self.name, "hanging", method)
            self.stopped.wait()

    def GetDevicePluginOptions(self, request, context):
        say(self.name, "options")
        if self.options_fail or env("STUB_OPTIONS_FAIL") == "1":
            context.abort(grpc.StatusCode.INTERNAL, "GetDevicePluginOptions failed")
        return pb.DevicePluginOptions(
            pre_start_required=env("STUB_PRESTART") == "1",
            get_preferred_allocation_available=env("STUB_PREFERRED") == "1",
        )

    def ListAndWatch(self, request, context):
        say(self.name, "list-and-watch")
        if env("STUB_LAW_FAIL") == "1":
            context.abort(grpc.StatusCode.INTERNAL, "ListAndWatch failed")
        listed = devices()
        yield pb.ListAndWatchResponse(devices=listed)
        updates = int(env("STUB_UPDATES", "0"))
        for i in range(updates):
            listed[-1].health = "Unhealthy" if i % 2 == 0 else "Healthy"
            yield pb.ListAndWatchResponse(devices=listed)
        if updates:
            say(self.name, "updates-sent", updates)
        done = threading.Event()
        context.add_callback(done.set)
        done.wait()

    def GetPreferredAllocation(self, request, context):
        self.hang("GetPreferredAllocation")
        answer = pb.PreferredAllocationResponse()
        for creq in request.container_requests:
            chosen = self.answers.pop(0) if self.answers else list(creq.must_include_deviceIDs)
            for d in creq.available_deviceIDs:
                if len(chosen) >= creq.allocation_size:
                    break
                if d not in chosen:
                    chosen.append(d)
            say(self.name, "preferred", "devices=" + ",".join(chosen))
            answer.container_responses.add().deviceIDs.extend(chosen)
        return answer

    def Allocate(self, request, context):
        self.hang("Allocate")
        answer = pb.AllocateResponse()
        for creq in request.container_requests:
            ids = ",".join(creq.devices_ids)
            say(self.name, "allocate", "devices=" + ids)
            answer.container_responses.add().envs["STUB_VISIBLE_DEVICES"] = ids
        return answer

    def PreStartContainer(self, request, context):
        self.hang("PreStartContainer")
        say(self.name, "prestart", "devices=" + ",".join(request.devices_ids))
        return pb.PreStartContainerResponse()

    def serve(self, path: str, watcher: bool = False) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        rpc.add_DevicePluginServicer_to_server(self, self.server)
        if watcher:
            reg_rpc.add_RegistrationServicer_to_server(Probe(self), self.server)
        self.server.add_insecure_port(unix_target(path))
        self.server.start()
        say(self.name, "serving", path.rsplit("/", 1)[-1])

    def stop(self) -> None:
        self.stopped.set()
        if self.server is not None:
            self.server.stop(None).wait(5)
        say(self.name, "stopped")


class Probe(reg_rpc.RegistrationServicer):
    """The plugin watcher's side: who this plugin is, and what the kubelet answered."""

    def __init__(self, stub: Stub) -> None:
        self.stub = stub

    def GetInfo(self, request, context):
        say(self.stub.name, "get-info")
        return reg.PluginInfo(
            type="DevicePlugin",
            name=env("STUB_WATCHER_NAME", env("STUB_RESOURCE", "example.com/gpu")),
            supported_versions=env("STUB_WATCHER_VERSIONS", "v1beta1").split(","),
        )

    def NotifyRegistrationStatus(self, request, context):
        say(self.stub.name, "notified", f"registered={request.plugin_registered}", f"error={request.error}")
        return reg.RegistrationStatusResponse()


def register(stub: Stub, kubelet: str) -> None:
    request = pb.RegisterRequest(
        version="v1beta1", endpoint=stub.endpoint, resource_name=env("STUB_RESOURCE", "example.com/gpu")
    )
    try:
        with grpc.insecure_channel(unix_target(kubelet)) as channel:
            rpc.RegistrationStub(channel).Register(request, timeout=30)
        say(stub.name, "registered")
    except grpc.RpcError as error:
        say(stub.name, "register-failed", error.details())


def main() -> None:
    socket_dir, kubelet = sys.argv[1], sys.argv[2]
    endpoint = env("STUB_ENDPOINT", "stub.sock")
    first = Stub("A", endpoint)
    instances = [first]
    registry_socket = ""

    def on_hup(hups: int) -> None:
        if env("STUB_WATCHER") == "1" and hups == 1:
            # Leave plugins_registry while the server and its ListAndWatch stream stay up: only the
            # kubelet's watcher can notice, so a scenario sees DeRegisterPlugin and nothing else.
            os.unlink(registry_socket)
            say(first.name, "left-registry")
            return
        if env("STUB_ROLLOUT") != "1":
            return
        if hups == 1:
            second = Stub("B", env("STUB_ENDPOINT2", "new.sock"), env("STUB_B_OPTIONS_FAIL") == "1")
            instances.append(second)
            second.serve(os.path.join(socket_dir, second.endpoint))
            threading.Thread(target=register, args=(second, kubelet), daemon=True).start()
        elif hups == 2:
            leaving = instances[-1] if env("STUB_LEAVE") == "B" else instances[0]
            threading.Thread(target=leaving.stop, daemon=True).start()

    # SIGHUP and SIGTERM are blocked before any thread exists (gRPC's threads inherit the mask)
    # and taken one at a time by sigwait in the loop below: no handler, so none can interrupt
    # say() while it holds the print lock, and a signal sent as soon as a scenario reads
    # "registered" waits, pending, until the loop takes it. (With a handler queueing it for a
    # blocking SimpleQueue.get, a SIGHUP that lands after the main thread's last signal check but
    # before it blocks would never wake it.) Only the main thread exists here: the imports start
    # no other.
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    if env("STUB_WATCHER") == "1":
        registry = sys.argv[3]
        os.makedirs(registry, exist_ok=True)
        registry_socket = os.path.join(registry, endpoint)
        first.serve(registry_socket, watcher=True)
    else:
        first.serve(os.path.join(socket_dir, endpoint))
        register(first, kubelet)
    hups = 0
    while signal.sigwait(_SIGNALS) != signal.SIGTERM:
        hups += 1
        on_hup(hups)
    for stub in instances:
        stub.stop()


if __name__ == "__main__":
    main()
