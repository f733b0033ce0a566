"""The device manager's shared state: endpoints, device sets, the checkpoint and the grace period.

The kubelet's ``ManagerImpl`` without its collaborators: registration hands it plugins
as they connect, list devices and disconnect; admission reads its device sets and makes
plugin calls through :meth:`DeviceManager.call`. One lock guards all of it (``lock``,
re-entrant); events are appended after it is released (:class:`EventBatch`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deviceplugin.v1beta1 import CHECKPOINT_FILE_NAME, PRE_START_CONTAINER_TIMEOUT_S
from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import checkpoint as ckpt
from fake_kubelet import contract
from fake_kubelet.contract import Violation
from fake_kubelet.endpoint import Endpoint, PluginClient
from fake_kubelet.errors import PluginCallError
from fake_kubelet.events import SOURCE, EventBatch
from fake_kubelet.pod_devices import PodDevices
from fake_kubelet.resources import ResourceEntry, ResourceTable
from fake_kubelet.responses import device_dicts
from fake_kubelet.rpc import call_unary
from simkit import Clock, ObservationLog

ENDPOINT_STOP_GRACE_PERIOD_S = 300.0
PROFILES = ("resource", "resource+socket")


@dataclass
class Timeouts:
    """The kubelet's deadlines, in clock seconds.

    ``dial`` and ``prestart`` are the kubelet's; ``call`` is ours for the calls the kubelet
    leaves unbounded, so a hung plugin gets a verdict; ``response_budget`` is the response
    time above which a call is a violation; ``grace_period`` runs from an endpoint's stop.
    """

    call: float = 10.0
    dial: float = 10.0
    prestart: float = PRE_START_CONTAINER_TIMEOUT_S
    response_budget: float = 1.0
    grace_period: float = ENDPOINT_STOP_GRACE_PERIOD_S
    borrowed: Callable[[], float] | None = None  # the simulation's share of a call's time (see borrowed_time)


class DeviceManager:
    """Endpoints and device sets per resource, the checkpoint, the grace period and plugin calls."""

    def __init__(
        self,
        socket_dir: str,
        clock: Clock,
        log: ObservationLog,
        profile: str,
        timeouts: Timeouts,
        pod_devices: PodDevices,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown kubelet profile {profile!r}; choose one of {list(PROFILES)}")
        self.socket_dir = socket_dir
        self.checkpoint_path = os.path.join(socket_dir, CHECKPOINT_FILE_NAME)
        self.clock = clock
        self.log = log
        self.profile = profile
        self.timeouts = timeouts
        self.pod_devices = pod_devices
        self.lock = threading.RLock()
        self.table = ResourceTable()
        self.serving = False
        self.closed = False
        self._generation = 0  # bumped on every stop: work of an older kubelet "process" is dropped
        self._violations: list[Violation] = []
        self._written: tuple[int, dict[str, list[str]]] | None = None  # what the file holds now
        self.on_health_change: Callable[[set[str]], None] | None = None  # pod UIDs

    def events(self) -> EventBatch:
        return EventBatch(self.log)

    # -- the kubelet "process" -----------------------------------------------------------------
    @property
    def generation(self) -> int:
        with self.lock:
            return self._generation

    def is_current(self, generation: int) -> bool:
        """Work started under ``generation`` still counts (the kubelet did not stop or close since)."""
        with self.lock:
            return self._generation == generation and not self.closed

    def aborter(self, generation: int) -> Callable[[], bool]:
        """For waits on a plugin call: lock-free (it runs inside the clock's waits)."""
        return lambda: self._generation != generation or self.closed

    def restore(self) -> dict[str, Any]:
        """readCheckpoint: allocations restored, checkpointed resources as stopped endpoints.

        Returns what the ``start`` event reports: ``{found, error, resources, entries}``.
        """
        with self.lock:
            return self._read_checkpoint()

    def start_serving(self, events: EventBatch) -> None:
        with self.lock:
            self.serving = True
            self.table.capacity_events(events)

    def stop_serving(self, crash: bool) -> None:
        """The process ends: later work is dropped, the checkpoint written (unless it crashed),
        in-memory device state gone (the node status stays)."""
        with self.lock:
            self.serving = False
            self._generation += 1
            self.table.cancel_graces()
            if not crash:
                self.write_checkpoint()
            self.table.entries.clear()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.table.cancel_graces()

    # -- checkpoint ----------------------------------------------------------------------------
    def _read_checkpoint(self) -> dict[str, Any]:
        self.table.entries.clear()
        self._written = None  # the file is the last process's; the next write goes through
        info: dict[str, Any] = {"found": False, "error": None, "resources": [], "entries": 0}
        data: ckpt.Checkpoint | None = None
        if os.path.exists(self.checkpoint_path):
            info["found"] = True
            try:
                data = ckpt.read(self.checkpoint_path)
            except (ckpt.CheckpointError, OSError) as error:
                info["error"] = str(error)
        self.pod_devices.restore(data.entries if data else [])
        if data is not None:
            info["entries"] = len(data.entries)
            info["resources"] = sorted(data.registered)
            now = self.clock.now()
            for name in data.registered:
                entry = self.table.add(name)
                self.table.removed.discard(name)
                entry.reported = True  # empty sets: capacity 0 until the plugin re-registers
                endpoint = Endpoint(name, "", "", None, None, stop_time=now)
                entry.endpoints[""] = endpoint
                self._start_grace(endpoint)
        self.table.forget_unknown()
        return info

    def write_checkpoint(self) -> None:
        """writeCheckpoint, skipped when the file already holds exactly this content.

        The kubelet writes on every device update, allocation and pod removal; a rewrite of
        the same bytes is invisible (only the file's inode and mtime change), and skipping it
        spares a plugin that resends its unchanged list 5,000 times the same 5,000 writes.
        """
        with self.lock:
            if self.closed or not os.path.isdir(self.socket_dir):
                return
            registered = {
                name: sorted(e.healthy) for name, e in sorted(self.table.entries.items()) if e.reported
            }
            content = (self.pod_devices.version, registered)
            if content == self._written:
                return
            ckpt.write(self.checkpoint_path, ckpt.Checkpoint(self.pod_devices.to_entries(), registered))
            self._written = content

    # -- plugins connect, list devices, disconnect (the plugin handler's callbacks) --------------
    def plugin_connected(self, client: PluginClient, options: pb.DevicePluginOptions) -> None:
        """A Register succeeded: the client's endpoint becomes the resource's (or one of them)."""
        with self.lock:
            entry = self.table.entries.get(client.resource) or self.table.add(client.resource)
            endpoint = Endpoint(client.resource, client.socket_path, client.endpoint, client, options)
            if self.profile == "resource":
                for old in entry.endpoints.values():
                    old.cancel_grace()
                entry.endpoints = {client.socket_path: endpoint}
            else:
                for path, old in list(entry.endpoints.items()):
                    if old.stopped or path == client.socket_path:
                        old.cancel_grace()
                        del entry.endpoints[path]
                entry.endpoints[client.socket_path] = endpoint

    def devices_listed(
        self, client: PluginClient, response: pb.ListAndWatchResponse, *, checkpoint: bool = True
    ) -> None:
        """genericDeviceUpdateCallback: the message replaces the resource's whole device set.

        With ``checkpoint=False`` (another message of the same stream is already waiting) the
        write is left to the burst's last message, which writes the state after all of them.

        Pods holding a device whose reported health changed (or that came back) are passed to
        ``on_health_change`` (the ResourceHealthStatus update channel).
        """
        touched: set[str] = set()
        with self.events() as events, self.lock:
            if not self.is_current(client.generation):
                return
            resource = client.resource
            entry = self.table.entries.get(resource) or self.table.add(resource)
            listed = list(response.devices)
            for rule, detail in contract.check_device_list(listed):
                self.violation(events, rule, resource, detail)
            old = entry.devices
            devices, healthy, unhealthy = device_dicts(listed, old)
            if self.on_health_change is not None:
                moved = [
                    i
                    for i, d in devices.items()
                    if d is not old.get(i) and (i not in old or old[i]["health"] != d["health"])
                ]
                touched = self.pod_devices.owners(resource, moved) if moved else set()
            entry.devices = devices
            entry.healthy = healthy
            entry.unhealthy = unhealthy
            entry.reported = True
            self.table.removed.discard(resource)
            events.add(
                "devices",
                {
                    "resource": resource,
                    "endpoint": client.endpoint,
                    "devices": list(devices.values()),
                    "added": sorted(set(devices) - set(old)),
                    "removed": sorted(set(old) - set(devices)),
                    "changed": sorted(
                        i for i, d in devices.items() if i in old and d is not old[i] and d != old[i]
                    ),
                },
            )
            self.table.capacity_events(events)
            if checkpoint:
                self.write_checkpoint()
        if touched and self.on_health_change is not None:
            self.on_health_change(touched)

    def plugin_disconnected(self, client: PluginClient, events: EventBatch) -> None:
        """Its devices turn unhealthy and the grace period starts, unless a live instance takes over."""
        with self.lock:
            entry = self.table.entries.get(client.resource)
            if entry is None:
                return
            if self.profile == "resource":
                endpoint = entry.active
            else:
                endpoint = entry.endpoints.get(client.socket_path)
                if endpoint is None:
                    return
                if any(not e.stopped and e is not endpoint for e in entry.endpoints.values()):
                    del entry.endpoints[
                        client.socket_path
                    ]  # a live instance takes over; devices stay healthy
                    return
            if endpoint is None:
                return
            # markResourceUnhealthy: the device sets exist from now on (a stream that failed before
            # its first list leaves the resource on the node at 0, not absent).
            entry.unhealthy |= entry.healthy
            entry.healthy = set()
            entry.reported = True
            endpoint.stop(self.clock.now())
            self._start_grace(endpoint)
            self.table.capacity_events(events)

    def _start_grace(self, endpoint: Endpoint) -> None:
        generation = self._generation
        endpoint.cancel_grace()
        endpoint.grace_timer = self.clock.call_later(
            self.timeouts.grace_period, lambda: self._grace_expired(endpoint, generation)
        )

    def _grace_expired(self, endpoint: Endpoint, generation: int) -> None:
        with self.events() as events, self.lock:
            if not self.is_current(generation):
                return
            entry = self.table.entries.get(endpoint.resource)
            if entry is None or entry.active is not endpoint or not endpoint.stopped:
                return
            self.table.remove(endpoint.resource)
            events.add("endpoint_removed", {"resource": endpoint.resource})
            self.table.capacity_events(events)
            self.write_checkpoint()

    # -- what admission reads ------------------------------------------------------------------
    def is_device_plugin_resource(self, resource: str) -> bool:
        """isDevicePluginResource: the kubelet has device sets for it, or pods hold its devices."""
        with self.lock:
            entry = self.table.entries.get(resource)
            return (entry is not None and entry.reported) or self.pod_devices.has_resource(resource)

    def entry(self, resource: str) -> ResourceEntry | None:
        """The resource's state; read it with ``lock`` held."""
        return self.table.entries.get(resource)

    # -- plugin calls ----------------------------------------------------------------------------
    def call(
        self,
        events: EventBatch,
        resource: str,
        client: PluginClient,
        method: str,
        request: Any,
        timeout: float | None = None,
        about: dict[str, Any] | None = None,
    ) -> Any:
        """Call ``method`` on the plugin with a deadline (given up when the kubelet stops).

        A ``call_started`` event goes out at once (``about`` adds pod and container), so a
        scenario can act while the call is in flight; deadline and response-time violations
        join ``events``.
        """
        timeout = self.timeouts.call if timeout is None else timeout
        started = self.clock.now()
        borrowed = self.borrowed_time()
        deadline = started + timeout
        self.log.append(
            SOURCE,
            "call_started",
            method=method,
            resource=resource,
            endpoint=client.endpoint,
            **(about or {}),
        )
        try:
            return call_unary(
                self.clock, getattr(client.stub, method), request, deadline, self.aborter(client.generation)
            )
        except PluginCallError as failure:
            if failure.deadline:
                self.violation(
                    events, contract.DEADLINE, resource, f"{method} did not answer within {timeout:g}s"
                )
            raise
        finally:
            elapsed = self.clock.now() - started
            budget = self.timeouts.response_budget
            own = elapsed - (self.borrowed_time() - borrowed)
            if budget < own and elapsed < timeout:
                lent = f" ({elapsed - own:.3f}s of it in NVML round trips)" if own < elapsed else ""
                self.violation(
                    events,
                    contract.RESPONSE_TIME,
                    resource,
                    f"{method} took {elapsed:.3f}s{lent}; the budget is {budget:g}s",
                )

    def borrowed_time(self) -> float:
        """Seconds the harness's simulation has spent answering the plugin so far (its NVML round
        trips through the shim): the response budget judges the plugin's own time, not these."""
        return self.timeouts.borrowed() if self.timeouts.borrowed is not None else 0.0

    def violation(self, events: EventBatch, rule: str, resource: str, detail: str) -> None:
        with self.lock:
            self._violations.append(Violation(rule, resource, detail, self.clock.now()))
        events.add("violation", {"rule": rule, "resource": resource, "detail": detail})

    @property
    def violations(self) -> list[Violation]:
        with self.lock:
            return list(self._violations)
