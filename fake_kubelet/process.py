"""The kubelet process: what starting, stopping, crashing and restarting it does.

On start the device manager reads its checkpoint, the registration server deletes every
socket in the dir and listens; the kubelet admits its active pods again (at once, before
kubelet.sock appears, or ``readmit_delay`` clock seconds later); then kubelet.sock, the
podresources socket and the plugin watcher come up. A stop writes the checkpoint and
disconnects every plugin; a crash does neither cleanup. The collaborators are handed in.
"""

from __future__ import annotations

import os
import threading

from fake_kubelet.manager import DeviceManager
from fake_kubelet.plugin_watcher import PluginWatcher
from fake_kubelet.pod_workers import PodWorkers
from fake_kubelet.podresources import PodResourcesServer
from fake_kubelet.registration import RegistrationServer

JOIN_TIMEOUT_S = 2.0


class KubeletProcess:
    def __init__(
        self,
        manager: DeviceManager,
        registration: RegistrationServer,
        workers: PodWorkers,
        podresources: PodResourcesServer | None,
        watcher: PluginWatcher | None,
        readmit_delay: float,
    ) -> None:
        self.manager = manager
        self.registration = registration
        self.workers = workers
        self.podresources = podresources
        self.watcher = watcher
        self.readmit_delay = readmit_delay
        self._readmitting: list[threading.Thread] = []

    def start(self, restart: bool = False) -> None:
        manager = self.manager
        with manager.lock:
            if manager.closed:
                raise RuntimeError("this FakeKubelet is closed; make a new one")
            if manager.serving:
                raise RuntimeError(
                    f"the kubelet is already serving {self.registration.socket_path}; stop() it first"
                )
        os.makedirs(self.registration.socket_dir, mode=0o750, exist_ok=True)
        with manager.events() as events, manager.lock:
            checkpoint = manager.restore()
            removed = self.registration.listen()
            if restart:
                events.add("restart", {"removed_sockets": removed, "checkpoint": checkpoint})
            events.add(
                "start",
                {
                    "socket": self.registration.socket_path,
                    "removed_sockets": removed,
                    "checkpoint": checkpoint,
                },
            )
            manager.start_serving(events)
        readmit = restart or bool(self.workers.pods.active())
        if readmit and self.readmit_delay <= 0:
            self.workers.readmit()  # before kubelet.sock appears: no plugin has registered yet
        self.registration.publish()
        if self.podresources is not None:
            self.podresources.start()
        if self.watcher is not None:
            self.watcher.start()
        if readmit and self.readmit_delay > 0:
            generation = manager.generation
            manager.clock.call_later(self.readmit_delay, lambda: self._readmit_later(generation))

    def _readmit_later(self, generation: int) -> None:
        """On the clock's thread: admit on a thread of its own (admission may call plugins)."""
        if not self.manager.is_current(generation):
            return
        thread = threading.Thread(target=self.workers.readmit, name="fake-kubelet-readmit", daemon=True)
        self._readmitting = [t for t in self._readmitting if t.is_alive()] + [thread]
        thread.start()

    def stop(self, kind: str, reason: str | None = None) -> None:
        """``kind`` is "stop" (clean) or "crash" (no checkpoint, a stale kubelet.sock left)."""
        manager = self.manager
        events = manager.events()
        with manager.lock:
            if not manager.serving:
                raise RuntimeError("the kubelet is not serving; start() it first")
            manager.stop_serving(crash=kind == "crash")
            detached = self.registration.detach()
            events.add(kind, {"reason": reason} if reason else {})
        if self.watcher is not None:
            self.watcher.stop()
        self.registration.shut_down(detached, unlink_socket=kind != "crash")
        if self.podresources is not None:
            self.podresources.stop()
        events.publish()
        detached.join()

    def join(self) -> None:
        for thread in self._readmitting:
            thread.join(JOIN_TIMEOUT_S)
