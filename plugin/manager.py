"""PluginManager: discovery → one server per resource → registration, rebuilt on kubelet restart.

One *generation* is everything built from one NVML enumeration: resources, servers, the health
monitor and the registrar. ``rebuild()`` (SIGHUP, a new kubelet.sock) stops a generation and
builds the next, as NVIDIA's plugin does; like NVIDIA's, a rebuild starts every device Healthy.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plugin.clock import Cancellable, Clock, RealClock
from plugin.config import Config, reload_config
from plugin.discovery import DiscoveredGpu
from plugin.errors import ConfigError, InitError
from plugin.health import HealthMonitor
from plugin.inventory import choose_strategy, take_inventory
from plugin.logfmt import EventLogger
from plugin.mps import ControlCommand, MpsDaemon, MpsError
from plugin.nvmlapi import Nvml
from plugin.nvmlutil import NVMLError, describe
from plugin.platform import Probe, Strategy
from plugin.registration import Registrar
from plugin.resources import Device, Resource
from plugin.server import ResourceServer, ServerStartError
from plugin.topology import pair_scores
from plugin.watcher import KubeletSocketWatcher

# What ``python -m plugin`` does on each signal: (command, reason).
SIGNAL_COMMANDS: dict[int, tuple[str, str]] = {
    signal.SIGHUP: ("rebuild", "sighup"),
    signal.SIGTERM: ("stop", "SIGTERM"),
    signal.SIGINT: ("stop", "SIGINT"),
    signal.SIGQUIT: ("stop", "SIGQUIT"),
}
_POSTED = 0  # a wake-up byte that is not a signal number: a command was appended to the deque


class _Stopped(Exception):
    """A stop came while a generation was being built; what it had started is stopped again."""


@dataclass
class _Generation:
    number: int
    gpus: list[DiscoveredGpu] = field(default_factory=list)
    servers: dict[str, ResourceServer] = field(default_factory=dict)
    monitor: HealthMonitor | None = None
    registrar: Registrar | None = None
    rescuers: list[Registrar] = field(default_factory=list)
    nvml_initialised: bool = False
    registered: set[str] = field(default_factory=set)


class PluginManager:
    """Runs the plugin against ``nvml`` (anything with pynvml's surface) until stopped."""

    def __init__(
        self,
        config: Config,
        nvml: Nvml,
        logger: logging.Logger | None = None,
        *,
        clock: Clock | None = None,
        mps: MpsDaemon | None = None,
        wakeup: tuple[int, int] | None = None,
    ) -> None:
        self.config = config
        self.nvml = nvml
        self.clock: Clock = clock or RealClock()
        # The MPS control daemon's readiness (NVIDIA asks it through nvidia-cuda-mps-control).
        self.mps: MpsDaemon = mps or ControlCommand(config.mps_container_root, config.env)
        self.events = EventLogger(logger)
        self._lock = threading.RLock()
        self._changed = threading.Condition()
        self._gen = _Generation(0)
        self._count = 0
        self._known: list[DiscoveredGpu] = []  # the last inventory NVML gave us (a rebuild may need it)
        self._started = False
        self._watcher: KubeletSocketWatcher | None = None
        # Commands for run(): request_*() append to the deque and write a byte to the pipe; the C
        # signal handler writes the signal's number to the same pipe (signal.set_wakeup_fd), from
        # whichever thread the kernel picked. run() blocks reading the pipe, so a signal wakes it
        # even when it lands on a gRPC thread (a Python handler alone runs only once the main
        # thread wakes up: a SIGTERM right after a SIGHUP was lost with queue.Queue.get()).
        self._commands: collections.deque[tuple[str, Any]] = collections.deque()
        # ``wakeup``: a pipe (read end, non-blocking write end) whose bytes already wait, e.g. the
        # signals python -m plugin received before this manager existed; else our own.
        self._wake_r, self._wake_w = wakeup or os.pipe()
        os.set_blocking(self._wake_w, False)
        self._owns_wakeup = wakeup is None  # a pipe handed in is closed by close(), by its giver
        self._wake_lock = threading.RLock()  # no write after close (the number may be reused)
        self._wake_open = True
        self._running = False
        self._state = threading.Condition()  # guards _stopping and what a stop tears down
        self._stopping = False
        self._rebuild_wanted: str | None = None
        self._retry_timer: Cancellable | None = None
        self._scores: dict[int, dict[frozenset[str], int]] = {}
        self._scores_lock = threading.Lock()

    # -- public state ----------------------------------------------------------------------
    @property
    def resources(self) -> list[Resource]:
        return [s.resource for s in self._gen.servers.values()]

    @property
    def servers(self) -> dict[str, ResourceServer]:
        return dict(self._gen.servers)

    @property
    def generation(self) -> int:
        return self._gen.number

    def registered(self) -> set[str]:
        """Resources registered with the kubelet in the current generation."""
        with self._changed:
            return set(self._gen.registered)

    def wait_registered(self, resources: set[str] | None = None, timeout: float = 5.0) -> bool:
        """Wait until these (default: all served) resources are registered in the current generation."""
        with self._changed:
            return self._changed.wait_for(
                lambda: (resources or set(self._gen.servers)) <= self._gen.registered, timeout
            )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Build the first generation and register it; raises InitError with --fail-on-init-error."""
        with self._lock:
            with self._state:
                if self._started or self._stopping:
                    return  # a stopped manager stays stopped (run() may get its SIGTERM before this)
                self._started = True
            nvml = getattr(self.nvml, "__name__", type(self.nvml).__name__)
            self.events.info(
                "starting",
                nvml=nvml,
                mig_strategy=self.config.mig_strategy,
                socket_dir=self.config.plugin_socket_dir,
                kubelet=self.config.kubelet_socket or None,
            )
            for warning in self.config.warnings:
                self.events.warning("config-warning", message=warning)
            os.makedirs(self.config.plugin_socket_dir, mode=0o750, exist_ok=True)
            if self.config.kubelet_socket:
                os.makedirs(os.path.dirname(self.config.kubelet_socket) or ".", mode=0o750, exist_ok=True)
                watcher = KubeletSocketWatcher(
                    self.config.kubelet_socket, self._kubelet_restarted, self.events
                )
                watcher.start()
                with self._state:
                    keep = not self._stopping
                    if keep:
                        self._watcher = watcher
                if not keep:  # a stop came meanwhile
                    watcher.stop()
                    return
            try:
                self._build()
            except _Stopped:
                return
            except BaseException:
                self._shutdown()
                raise

    def rebuild(self, reason: str = "manual") -> None:
        """Stop every server and build anew from a fresh NVML enumeration (what SIGHUP does).

        A stop() meanwhile wins: it does not wait for this (NVML may be slow), and whatever this
        build starts after it is stopped again, so no socket outlives the stop.
        """
        with self._lock:
            if not self._started or self._stopping:
                return
            self.events.info("rebuild", reason=reason)
            self._reload()
            self._teardown()
            try:
                self._build()
            except _Stopped:
                self.events.info("rebuild-abandoned", reason=reason, note="the plugin is stopping")

    def _reload(self) -> None:
        """Read the config file again, as NVIDIA's plugin does on every restart of its plugins.

        A bad file is logged and the previous configuration kept (NVIDIA's plugin exits 1): a
        kubelet restart must still be answered with a registration.
        """
        if not self.config.loaded:
            return
        try:
            fresh = reload_config(self.config)
        except ConfigError as exc:
            self.events.error(
                "config-reload-failed", error=str(exc), note="keeping the previous configuration"
            )
            return
        for warning in fresh.warnings:
            self.events.warning("config-warning", message=warning)
        self.config = fresh

    def stop(self) -> None:
        """Stop serving, remove our sockets; returns at once (threads blocked in NVML exit on their own).

        It does not wait for a rebuild in progress (that one holds ``_lock``, perhaps inside a slow
        NVML call): it tears down what exists and the build stops whatever it starts afterwards.
        """
        with self._state:
            started, self._started = self._started, False
            self._stopping = True  # also before start(): then start() builds nothing
            self._state.notify_all()
        if started:
            self._shutdown()
            self.events.info("stopped")
        self._post("stop", None)
        if not self._running and self._owns_wakeup:
            self.close()

    def request_rebuild(self, reason: str = "sighup") -> None:
        """Ask ``run()`` to rebuild (safe from a signal handler)."""
        self._post("rebuild", reason)

    def request_stop(self, reason: str = "signal") -> None:
        """Ask ``run()`` to stop and return (safe from a signal handler)."""
        self._post("stop", reason)

    def close(self) -> None:
        """Close the wake-up pipe (python -m plugin: once its signals no longer write there).

        stop() and run() close a pipe the manager made itself; nothing is posted afterwards.
        """
        with self._wake_lock:
            if self._wake_open:
                self._wake_open = False
                os.close(self._wake_r)
                os.close(self._wake_w)

    def _post(self, command: str, arg: Any) -> None:
        self._commands.append((command, arg))
        with self._wake_lock:  # re-entrant: a signal handler that posts cannot deadlock on it
            if not self._wake_open:
                return
            try:
                os.write(self._wake_w, bytes([_POSTED]))
            except BlockingIOError:  # full of wake-ups: run() is awake and will drain the deque
                pass

    def _next_commands(self) -> list[tuple[str, Any]]:
        """Block until something arrives; every command since, in the order it came."""
        data = os.read(self._wake_r, 4096)
        commands: list[tuple[str, Any]] = []
        for byte in data:
            if byte == _POSTED:
                while self._commands:
                    commands.append(self._commands.popleft())
            elif byte in SIGNAL_COMMANDS:
                commands.append(SIGNAL_COMMANDS[byte])
        return commands

    def run(self) -> None:
        """start(), then serve until stop() or request_stop(); rebuilds on request_rebuild().

        start() and rebuilds run on their own thread so that a stop is answered while one is in
        progress (start()'s InitError is raised here);
        rebuilds asked for while one waits to run become one (it reads the config file and
        enumerates NVML afresh, so it sees whatever the later ones would have seen).
        """
        failed: list[BaseException] = []
        self._running = True

        def build() -> None:
            try:
                self.start()
            except BaseException as exc:  # InitError: python -m plugin exits 1
                failed.append(exc)
                self._post("start-failed", None)
                return
            self._rebuild_loop()

        # The first build too: a SIGTERM while it waits for a slow kubelet (Register) or NVML is
        # answered at once.
        threading.Thread(target=build, name="plugin-builder", daemon=True).start()
        try:
            while True:
                for command, arg in self._next_commands():
                    if command == "start-failed":
                        raise failed[0]
                    if command == "stop":
                        if arg:
                            self.events.info("exiting", reason=arg)
                        return
                    if command == "rebuild":
                        self._want_rebuild(arg)
        finally:
            self._running = False
            self.stop()

    def _want_rebuild(self, reason: str) -> None:
        with self._state:
            if self._rebuild_wanted is not None:
                self.events.info("rebuild-coalesced", reason=reason, pending=self._rebuild_wanted)
                return
            self._rebuild_wanted = reason
            self._state.notify_all()

    def _rebuild_loop(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._rebuild_wanted is not None or self._stopping)
                if self._stopping:
                    return
                reason, self._rebuild_wanted = self._rebuild_wanted, None
            assert reason is not None
            try:
                self.rebuild(reason)
            except Exception as exc:  # a rebuild never exits the plugin; the next signal may succeed
                self.events.error("rebuild-failed", error=f"{type(exc).__name__}: {exc}")

    def _started_unless_stopped(self, undo: Callable[[], None] | None = None) -> None:
        """After the build started something: raise _Stopped (undoing it) when a stop came meanwhile."""
        with self._state:
            if not self._stopping:
                return
        if undo is not None:
            undo()
        raise _Stopped

    # -- generations -----------------------------------------------------------------------
    def _shutdown(self) -> None:
        with self._state:
            self._started = False
            self._stopping = True
            self._state.notify_all()
            watcher, self._watcher = self._watcher, None
            timer, self._retry_timer = self._retry_timer, None
        if watcher is not None:
            watcher.stop()
        if timer is not None:
            timer.cancel()
        self._teardown()

    def _init_failed(self, message: str) -> None:
        """At start: exit 1 with --fail-on-init-error, else wait for a rebuild (NVIDIA's rules).

        At a rebuild (the plugin served before): never exit; retry every ``restart_delay_s``, as
        NVIDIA's plugin restarts after a failed start, and as its DaemonSet would restart it.
        """
        if self._count == 1 and self.config.fail_on_init_error:
            raise InitError(message)
        if self._count == 1:
            note = "fail-on-init-error=false: serving no resources until a rebuild"
        else:
            note = f"serving no resources; retrying in {self.config.restart_delay_s:g}s"
            self._schedule_retry()
        self.events.error("init-failed", error=message, note=note)

    def _build(self) -> None:
        self._count += 1
        gen = _Generation(self._count)
        with self._state:
            if self._stopping:
                raise _Stopped
            self._gen = gen
            timer, self._retry_timer = self._retry_timer, None
        if timer is not None:
            timer.cancel()
        probe = Probe(self.nvml, self.config.driver_root_ctr_path)
        try:
            choice = choose_strategy(self.config, probe)
        except InitError as exc:
            self._init_failed(str(exc))
            return
        self.events.info(
            "discovery-strategy",
            strategy=choice.strategy,
            requested=self.config.device_discovery_strategy,
            platform=choice.platform,
            reason=choice.reason,
        )
        for warning in choice.warnings:
            self.events.warning("discovery-warning", message=warning)
        if choice.strategy == Strategy.NVML:
            try:
                self.nvml.nvmlInit()
            except NVMLError as exc:
                self._init_failed(f"failed to initialize NVML: {describe(exc)}")
                return
            gen.nvml_initialised = True
            self._started_unless_stopped()
        try:
            inventory = take_inventory(self.config, self.nvml, choice.strategy, self._known)
        except InitError as exc:
            self._init_failed(str(exc))
            return
        gen.gpus, resources, extras = inventory.gpus, inventory.resources, inventory.extras
        if choice.strategy == Strategy.NVML:
            self._known = gen.gpus
        for warning in inventory.warnings:
            self.events.warning("discovery-warning", message=warning)
        self.events.info(
            "discovered",
            generation=gen.number,
            gpus=len(gen.gpus),
            mig_devices=sum(len(g.migs) for g in gen.gpus),
            resources=[f"{r.name}:{len(r.devices)}" for r in resources],
        )
        if not resources:
            self.events.warning("no-devices", note="no resources to serve; waiting for a rebuild")
        for resource in resources:
            gen.servers[resource.name] = ResourceServer(
                resource,
                self.config,
                self.events,
                scores=functools.partial(self._pair_scores, gen.number),
                on_stream_lost=functools.partial(self._stream_lost, gen, resource.name),
                extras=extras,
            )
        if choice.strategy == Strategy.TEGRA:
            self.events.info("health-checks-disabled", reason="tegra devices are not health-checked")
        else:
            gen.monitor = HealthMonitor(
                self.nvml,
                [d for r in resources for d in r.devices],
                self.config.health,
                functools.partial(self._health_changed, gen.number),
                self.events,
                recovery=self.config.health_recovery,
                wait_ms=self.config.health_wait_ms,
                probe_interval_s=self.config.recovery_probe_interval_s,
                probes=self.config.recovery_probes,
                clock=self.clock,
            )
            try:
                gen.monitor.start()
            except NVMLError as exc:
                self._init_failed(f"health monitor could not start: {describe(exc)}")
                return
            self._started_unless_stopped(gen.monitor.stop)
        try:
            for server in list(gen.servers.values()):
                if server.resource.mps:
                    self._wait_for_mps(server.resource.name)
                # Under _state: a stop either comes first (and we start nothing) or tears this
                # server down after it started; never a socket created after the stop returned.
                with self._state:
                    if self._stopping:
                        raise _Stopped
                    server.start()
        except ServerStartError as exc:
            self.events.error("serve-failed", error=str(exc), retry_in=f"{self.config.restart_delay_s:g}s")
            self._schedule_retry()
            return
        if self.config.kubelet_socket and gen.servers:
            gen.registrar = Registrar(
                self.config.kubelet_socket,
                [(s.resource.name, s.resource.socket_name) for s in gen.servers.values()],
                self.events,
                timeout=self.config.register_timeout_s,
                backoff_initial=self.config.register_backoff_initial_s,
                backoff_cap=self.config.register_backoff_cap_s,
                on_registered=functools.partial(self._registered, gen),
                clock=self.clock,
            )
            self._started_unless_stopped(gen.registrar.stop)
            gen.registrar.start()

    def _wait_for_mps(self, resource: str) -> None:
        """NVIDIA's waitForDaemon: the MPS control daemon must answer before the resource is served."""
        try:
            self.mps.assert_healthy(resource)
        except MpsError as exc:
            raise ServerStartError(f"error waiting for MPS daemon: {exc}") from None
        self.events.info("mps-daemon-healthy", resource=resource)

    def _teardown(self) -> None:
        """Stop the current generation (a rebuild's, or a stop's while a rebuild builds one)."""
        with self._state:
            gen = self._gen
            self._gen = _Generation(gen.number)
            if gen.registrar is not None:
                gen.registrar.stop()
            for rescuer in list(gen.rescuers):
                rescuer.stop()
            if gen.monitor is not None:
                gen.monitor.stop()
            for server in list(gen.servers.values()):
                server.stop()
                self.events.info("server-stopped", resource=server.resource.name, socket=server.socket_path)
            shutdown, gen.nvml_initialised = gen.nvml_initialised, False
        if shutdown:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass
        self._scores.pop(gen.number, None)

    def _schedule_retry(self) -> None:
        with self._state:
            if not self._stopping:
                self._retry_timer = self.clock.call_later(self.config.restart_delay_s, self._retry_due)

    def _retry_due(self) -> None:
        """Rebuild after a failed start, as NVIDIA restarts its plugins (also without ``run()``)."""
        threading.Thread(target=self.rebuild, args=("retry",), name="plugin-retry", daemon=True).start()

    def _registered(self, gen: _Generation, name: str) -> None:
        with self._changed:
            gen.registered.add(name)
            self._changed.notify_all()

    def _stream_lost(self, gen: _Generation, name: str) -> None:
        """The kubelet closed our only ListAndWatch stream while we serve: register that resource again.

        A kubelet restart also closes streams, but then kubelet.sock goes away (or, after a crash,
        the new kubelet deletes our socket before it creates kubelet.sock anew) and the watcher
        rebuilds; so we only try while this generation is current and both our socket and
        kubelet.sock exist. Runs on a gRPC worker thread.
        """
        server = gen.servers.get(name)
        if gen is not self._gen or server is None or not self.config.kubelet_socket:
            return
        if not os.path.exists(server.socket_path) and os.path.exists(self.config.kubelet_socket):
            # Someone else removed our socket while the kubelet stays (an old instance of us exiting
            # on the same path): the kubelet can no longer dial us, so serve anew and register.
            self.events.warning("stream-lost", resource=name, note="our socket was removed; rebuilding")
            threading.Thread(
                target=self.rebuild, args=("socket-removed",), name="plugin-rebuild", daemon=True
            ).start()
            return
        with self._changed:
            gen.registered.discard(name)
        self.events.warning(
            "stream-lost",
            resource=name,
            note="the kubelet closed ListAndWatch while we serve; registering again",
        )
        rescuer = Registrar(
            self.config.kubelet_socket,
            [(name, server.resource.socket_name)],
            self.events,
            timeout=self.config.register_timeout_s,
            backoff_initial=self.config.register_backoff_initial_s,
            backoff_cap=self.config.register_backoff_cap_s,
            on_registered=lambda n: self._registered(gen, n),
            still_wanted=lambda: (
                gen is self._gen
                and os.path.exists(server.socket_path)
                and os.path.exists(self.config.kubelet_socket)
            ),
            clock=self.clock,
        )
        gen.rescuers.append(rescuer)
        threading.Thread(target=rescuer.start, name="plugin-reregister", daemon=True).start()

    def _kubelet_restarted(self) -> None:
        self.rebuild("kubelet-restart")

    def _pair_scores(self, number: int) -> dict[frozenset[str], int]:
        """NVLink/PCIe/NUMA pair scores, computed on first use per generation (NVML calls are not free)."""
        with self._scores_lock:
            if number not in self._scores:
                gpus = self._gen.gpus if self._gen.number == number else []
                try:
                    self._scores[number] = pair_scores(self.nvml, gpus)
                except Exception as exc:
                    self.events.warning("topology-unavailable", error=describe(exc))
                    self._scores[number] = {}
            return self._scores[number]

    def _health_changed(
        self, number: int, devices: list[Device], healthy: bool, cause: dict[str, Any]
    ) -> None:
        gen = self._gen
        if gen.number != number:
            return  # a previous generation's monitor, about to exit
        event = "device-healthy" if healthy else "device-unhealthy"
        for server in list(gen.servers.values()):
            for device in server.set_health(devices, healthy):
                log = self.events.info if healthy else self.events.warning
                log(event, resource=server.resource.name, device=device.id, gpu=device.gpu_uuid, **cause)
