"""The kubelet's plugin watcher for device plugins ("probe mode"), as the pluginmanager runs it.

The kubelet watches ``plugins_registry`` (inotify, the kubelet uses fsnotify). For each
socket that appears there, and each one found at start: dial it (10 s), ask ``GetInfo``
(1 s), check the type is ``DevicePlugin``, validate the versions and the resource name,
then connect to the endpoint it named (empty: that socket) as Register's second half
does, and tell the plugin with ``NotifyRegistrationStatus`` (5 s). A failed registration
is tried again with exponential backoff (0.5 s doubling to 2 min 2 s) on the clock while
the socket exists. A socket that goes away deregisters its plugin. Installing the
watcher creates the regular file ``DEPRECATION`` in the device-plugins dir, as the kubelet
does. Not watched: subdirectories (the kubelet's watcher walks them).
"""

from __future__ import annotations

import os
import select
import stat
import threading
from dataclasses import dataclass

import grpc
from inotify_simple import INotify
from inotify_simple import flags as in_flags

from deviceplugin.pluginregistration.v1 import DEPRECATION_FILE_NAME, DEVICE_PLUGIN, api_pb2_grpc
from deviceplugin.pluginregistration.v1 import api_pb2 as reg
from deviceplugin.v1beta1 import SUPPORTED_VERSIONS, VERSION
from fake_kubelet.errors import PluginCallError
from fake_kubelet.events import SOURCE
from fake_kubelet.manager import DeviceManager
from fake_kubelet.names import invalid_resource_name_message, is_extended_resource_name
from fake_kubelet.registration import RegistrationServer
from fake_kubelet.rpc import call_unary, dial
from simkit import TimerHandle

DIAL_TIMEOUT_S = 10.0
GET_INFO_TIMEOUT_S = 1.0
NOTIFY_TIMEOUT_S = 5.0
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 122.0
JOIN_TIMEOUT_S = 2.0


@dataclass
class _Watched:
    """A socket in plugins_registry: its registered plugin, and its retry state."""

    name: str | None = None
    endpoint: str | None = None
    backoff: float = 0.0
    retry: TimerHandle | None = None


class PluginWatcher:
    """Registers device plugins that announce themselves through ``registry_dir``."""

    def __init__(self, manager: DeviceManager, registration: RegistrationServer, registry_dir: str) -> None:
        self.manager = manager
        self.registration = registration
        self.registry_dir = registry_dir
        self._watched: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._inotify: INotify | None = None
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        os.makedirs(self.registry_dir, mode=0o750, exist_ok=True)
        with open(os.path.join(self.registration.socket_dir, DEPRECATION_FILE_NAME), "w"):
            pass
        self._inotify = INotify()
        self._inotify.add_watch(self.registry_dir, in_flags.CREATE | in_flags.DELETE | in_flags.MOVED_TO)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="fake-kubelet-watcher", daemon=True)
        self._thread.start()
        for name in sorted(os.listdir(self.registry_dir)):
            self._appeared(os.path.join(self.registry_dir, name))

    def stop(self) -> None:
        if self._thread is None:
            return
        os.write(self._wake_w, b"x")
        self._thread.join(JOIN_TIMEOUT_S)
        with self._lock:
            for watched in self._watched.values():
                if watched.retry is not None:
                    watched.retry.cancel()
            self._watched.clear()
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.join(JOIN_TIMEOUT_S)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        if self._inotify is not None:
            self._inotify.close()
        self._thread = self._inotify = None

    # -- the filesystem side ------------------------------------------------------------------------
    def _watch(self) -> None:
        assert self._inotify is not None
        while True:
            ready, _, _ = select.select([self._inotify.fileno(), self._wake_r], [], [])
            if self._wake_r in ready:
                return
            for event in self._inotify.read(timeout=0):
                path = os.path.join(self.registry_dir, event.name)
                if event.mask & (in_flags.CREATE | in_flags.MOVED_TO):
                    self._appeared(path)
                elif event.mask & in_flags.DELETE:
                    self._gone(path)

    def _appeared(self, path: str) -> None:
        try:
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                return
        except FileNotFoundError:
            return
        with self._lock:
            if path in self._watched:
                return
            self._watched[path] = _Watched()
        self._spawn(path)

    def _gone(self, path: str) -> None:
        with self._lock:
            watched = self._watched.pop(path, None)
        if watched is None:
            return
        if watched.retry is not None:
            watched.retry.cancel()
        self.manager.log.append(SOURCE, "watcher_socket_removed", socket=path, name=watched.name)
        if watched.name is not None and watched.endpoint is not None:
            self.registration.deregister(watched.name, watched.endpoint)

    def _spawn(self, path: str) -> None:
        worker = threading.Thread(target=self._register, args=(path,), name="fake-kubelet-probe", daemon=True)
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()

    # -- one registration -----------------------------------------------------------------------------
    def _register(self, path: str) -> None:
        manager = self.manager
        generation = manager.generation
        aborted = manager.aborter(generation)
        info: reg.PluginInfo | None = None
        error: str | None = None
        channel: grpc.Channel | None = None
        try:
            channel = dial(manager.clock, path, DIAL_TIMEOUT_S, aborted)
        except PluginCallError as failure:
            error = f"RegisterPlugin error -- dial failed at socket {path}, err: {failure}"
        try:
            if channel is not None:
                stub = api_pb2_grpc.RegistrationStub(channel)  # type: ignore[no-untyped-call]
                try:
                    info = call_unary(
                        manager.clock,
                        stub.GetInfo,
                        reg.InfoRequest(),
                        manager.clock.now() + GET_INFO_TIMEOUT_S,
                        aborted,
                    )
                except PluginCallError as failure:
                    error = (
                        "RegisterPlugin error -- failed to get plugin info using RPC GetInfo at socket "
                        f"{path}, err: {failure}"
                    )
                if info is not None:
                    error = self._handle(path, info, stub)
        finally:
            if channel is not None:
                channel.close()
        manager.log.append(
            SOURCE,
            "watcher_register",
            socket=path,
            type=info.type if info else None,
            name=info.name if info else None,
            endpoint=(info.endpoint or path) if info else None,
            versions=list(info.supported_versions) if info else None,
            registered=error is None,
            error=error,
        )
        if error is not None and manager.is_current(generation):
            self._retry_later(path)

    def _handle(self, path: str, info: reg.PluginInfo, stub: api_pb2_grpc.RegistrationStub) -> str | None:
        """The DevicePlugin handler's ValidatePlugin and RegisterPlugin; notify the plugin."""
        if info.type != DEVICE_PLUGIN:
            message = (
                f"RegisterPlugin error -- no handler registered for plugin type: {info.type} at socket {path}"
            )
            return self._notify(stub, False, message) or message
        endpoint = info.endpoint or path
        versions = list(info.supported_versions)
        invalid = None
        if not any(v in SUPPORTED_VERSIONS for v in versions):
            invalid = (
                f"manager version, {VERSION}, is not among plugin supported versions [{' '.join(versions)}]"
            )
        elif not is_extended_resource_name(info.name):
            invalid = f"invalid name of device plugin socket: {invalid_resource_name_message(info.name)}"
        if invalid is not None:
            notified = self._notify(
                stub, False, f"RegisterPlugin error -- plugin validation failed with err: {invalid}"
            )
            return notified or "RegisterPlugin error -- pluginHandler.ValidatePluginFunc failed"
        with self.manager.events() as events:
            failure = self.registration.connect(
                events,
                info.name,
                endpoint,
                endpoint,
                on_connected=lambda: events.add(
                    "register",
                    {
                        "resource": info.name,
                        "endpoint": endpoint,
                        "version": VERSION,
                        "accepted": True,
                        "reason": None,
                        "via": "plugin_watcher",
                    },
                ),
            )
        if failure is not None:
            message = f"RegisterPlugin error -- plugin registration failed with err: {failure[0]}"
            return self._notify(stub, False, message) or message
        with self._lock:
            watched = self._watched.get(path)
            if watched is not None:
                watched.name, watched.endpoint, watched.backoff = info.name, endpoint, 0.0
        return self._notify(stub, True, "")

    def _notify(self, stub: api_pb2_grpc.RegistrationStub, registered: bool, error: str) -> str | None:
        """NotifyRegistrationStatus; the failure to send it, if any."""
        manager = self.manager
        status = reg.RegistrationStatus(plugin_registered=registered, error=error)
        try:
            call_unary(
                manager.clock,
                stub.NotifyRegistrationStatus,
                status,
                manager.clock.now() + NOTIFY_TIMEOUT_S,
                manager.aborter(manager.generation),
            )
        except PluginCallError as failure:
            return f"RegisterPlugin error -- failed to send registration status, err: {failure}"
        return None

    def _retry_later(self, path: str) -> None:
        with self._lock:
            watched = self._watched.get(path)
            if watched is None or watched.name is not None:
                return
            watched.backoff = min(MAX_BACKOFF_S, watched.backoff * 2 or FIRST_BACKOFF_S)
            watched.retry = self.manager.clock.call_later(watched.backoff, lambda: self._spawn(path))
