"""The invariants: one table, each with a name, a one-line statement and how it is checked.

An invariant is checked in the scenario language itself, so a reproducer fails in ``harness
run`` for the reason explore saw:

- *Obligations* are ``expect:`` mappings the model derives after an action (``health: {gpu1:
  Unhealthy}`` within a bound). Explore runs them as expect steps; the ones that set the pace
  (``settles``) are written into every reproducer after their action, so a replay waits where
  exploration waited; the failing one ends the reproducer. A *soft* obligation is only a wait
  for the system to settle (a rebuild that may not register after an NVML failure): not met, it
  is neither a violation nor written.
- *Never* sets are ``never:`` entries, checked after every action and written into every
  reproducer's ``never:`` list.

Which invariants apply depends on the plugin's claims (:mod:`harness.explore.plugins`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.explore.plugins import Claims
from harness.explore.world import GPU_RESOURCE, HEALTHY, World


class Probe(Protocol):
    """What obligations may observe of the live run (the kubelet's state, the node's record)."""

    def fired(self) -> dict[str, int]: ...
    def registered_since_generation(self, resource: str) -> bool: ...
    def allocation_ids(self, pod: str, container: str, resource: str) -> list[str] | None: ...
    def quantities(self) -> dict[str, tuple[int, int]]: ...  # resource → (capacity, allocatable)
    def running(self) -> bool: ...


@dataclass(frozen=True)
class Situation:
    """What an invariant looks at after one action."""

    world: World
    action: str  # the action's kind (see harness.explore.actions), "start" after setup
    args: dict[str, Any]
    claims: Claims
    probe: Probe


@dataclass(frozen=True)
class Obligation:
    conditions: dict[str, Any]
    within: float
    settles: bool = False  # written after its action in every reproducer (it sets the pace)
    soft: bool = False  # a settling wait only
    what: str = ""  # which rule of its invariant it checks (tells one bug from another)
    why: dict[str, str] = field(default_factory=dict)  # health: GPU alias → the model's reason
    hold: float = 0.0  # once true, it must stay true this long (``for:``), e.g. after an XID


Obligations = Callable[[Situation], list[Obligation]]


@dataclass(frozen=True)
class Invariant:
    name: str
    statement: str
    obligations: Obligations | None = None
    never: dict[str, Any] | None = None
    needs: tuple[str, ...] = ()

    def applies(self, claims: Claims | None) -> bool:
        """Does the profile claim what this invariant needs (None: every invariant applies)?"""
        return claims is None or all(claims.claims(n) for n in self.needs)


# Actions that hand the plugin an event: a health view right after one may not show the plugin's
# reaction yet (a Healthy GPU the plugin is about to mark for an ignored XID), so it must hold a
# while. Our plugin and NVIDIA's react within milliseconds of the event wait returning.
EVENTS = ("xid", "ecc")
EVENT_HOLD = 0.5
REBUILDS = ("start", "plugin_start", "plugin_restart", "plugin_sighup", "kubelet_restart", "kubelet_start")
KUBELET_STARTS = ("kubelet_restart", "kubelet_start")


def _resource_key(resource: str) -> dict[str, Any]:
    return {} if resource == GPU_RESOURCE else {"resource": resource}


def registration(s: Situation) -> list[Obligation]:
    world, out = s.world, []
    rebuilt = s.action in REBUILDS and world.serving()
    if rebuilt:
        bound = s.claims.bound("register" if s.action in ("start", "plugin_start") else "reregister")
        for resource, count in sorted(world.resources().items()):
            conditions: dict[str, Any] = {
                "event": {
                    "source": "kubelet",
                    "kind": "register",
                    "since": "step",
                    "data": {"resource": resource, "accepted": True},
                },
                "registered": resource,
            }
            if world.gen.clean:
                conditions["devices"] = {**_resource_key(resource), "count": count}
            out.append(
                Obligation(
                    conditions, bound, settles=True, soft=not world.gen.clean, what="registers in time"
                )
            )
    if s.action in KUBELET_STARTS:
        for pod in world.pods.values():
            for c in pod.containers:
                if c.ids:
                    cond = {"pod": pod.name, "container": c.name, **_resource_key(pod.resource)}
                    allocation = {"allocation": {**cond, "ids": {"set": list(c.ids)}}}
                    out.append(Obligation(allocation, 1.0, what="checkpointed allocations survive"))
    return out


def health(s: Situation) -> list[Obligation]:
    world = s.world
    if not world.kubelet_up:
        return []
    if not world.plugin_running:
        # Without its plugin the kubelet can allocate nothing it knows (Unhealthy, later removed).
        known = {r: 0 for r in sorted(s.probe.quantities())}
        if not known:
            return []
        bound = s.claims.bound("health")
        return [Obligation({"allocatable": known}, bound, settles=True, what="plugin down")]
    fired = s.probe.fired()
    out = []
    for resource in sorted(world.resources()):
        if not world.gen.clean and not s.probe.registered_since_generation(resource):
            continue  # this build may not have registered at all (an NVML failure at the rebuild)
        wanted: dict[str, str] = {}
        why: dict[str, str] = {}
        bound = 0.0
        for g in world.gpus:
            if resource not in g.resources:
                continue
            expectation = world.expect(g, fired)
            if expectation.health is not None:
                wanted[g.alias] = expectation.health
                why[g.alias] = f"{expectation.health}: {expectation.why}"
                bound = max(bound, expectation.bound)
        if wanted:
            conditions = {"health": {**_resource_key(resource), **wanted}}
            hold = EVENT_HOLD if s.action in EVENTS else 0.0
            out.append(Obligation(conditions, bound, settles=True, what="health", why=why, hold=hold))
    return out


def watched(s: Situation) -> list[Obligation]:
    """After a rebuild, each GPU the model expects Healthy has its NVML events registered since the
    rebuild began: a Healthy GPU nobody watches would hide its next XID (the node logs each
    registration as node/events_registered)."""
    world = s.world
    if s.action not in REBUILDS or not world.serving() or world.rules.checks_off:
        return []
    fired = s.probe.fired()
    out = []
    for g in world.gpus:
        if not g.watched or not g.resources:
            continue
        resource = sorted(g.resources)[0]
        if not world.gen.clean and not s.probe.registered_since_generation(resource):
            continue  # this build may not have registered at all (see health)
        expectation = world.expect(g, fired)
        if expectation.health != HEALTHY:
            continue
        conditions = {
            "health": {**_resource_key(resource), g.alias: HEALTHY},
            "event": {
                "source": "node",
                "kind": "events_registered",
                "since": "step",
                "data": {"gpu": g.index},
            },
        }
        out.append(Obligation(conditions, expectation.bound, what="a Healthy GPU has no events registered"))
    return out


def restart_reuses(s: Situation) -> list[Obligation]:
    if s.action != "restart_container" or not s.world.kubelet_up:
        return []
    pod = s.world.pods.get(s.args["pod"])
    if pod is None:
        return []
    c = pod.container(s.args["container"])
    if not c.ids:
        return []
    key = {"pod": pod.name, "container": c.name, **_resource_key(pod.resource)}
    return [
        Obligation(
            {
                "allocation": {**key, "ids": {"set": list(c.ids)}},
                "event": {"source": "kubelet", "kind": "allocate", "since": "step", "count": 0},
            },
            0.5,
        )
    ]


def exclusive(s: Situation) -> list[Obligation]:
    """Only the overlapping pairs become obligations (they fail); a clean node yields none."""
    held: list[tuple[str, str, str, list[str]]] = []
    for truth, c in s.world.running_containers():
        ids = s.probe.allocation_ids(truth.name, c.name, truth.resource)
        if ids:
            held.append((truth.name, c.name, truth.resource, ids))
    out = []
    for i, (pod, name, resource, ids) in enumerate(held):
        others = [d for (p, n, r, other) in held[i + 1 :] if r == resource for d in other]
        if set(ids) & set(others):
            key = {"pod": pod, "container": name, **_resource_key(resource)}
            out.append(Obligation({"allocation": {**key, "ids": {"disjoint": others}}}, 0.1))
    return out


def within_capacity(s: Situation) -> list[Obligation]:
    out = []
    for resource, (capacity, allocatable) in sorted(s.probe.quantities().items()):
        if allocatable > capacity:
            out.append(
                Obligation(
                    {"capacity": {resource: capacity}, "allocatable": {resource: {"le": capacity}}}, 0.1
                )
            )
    return out


def alive(s: Situation) -> list[Obligation]:
    if not s.world.plugin_running:
        return []
    if s.world.gen.may_exit and not s.probe.running():
        s.world.plugin_exited()
        return []
    return [Obligation({"running": True}, 0.1)]


ADMISSION_RULES = ["allocate_unknown_device", "allocate_unhealthy_device"]
DEADLINE_RULES = ["deadline_exceeded"]
# response_time (a call slower than the kubelet's 1 s budget) depends on the machine's load, so no
# invariant judges it; the kubelet still records it and reports show it.
NOT_CONTRACT = [*ADMISSION_RULES, *DEADLINE_RULES, "response_time"]

# In checking order: registration first (later checks read the new build), the plugin's life last
# (a dead plugin also fails the checks before it; the explorer then blames the death).
INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        "reregistration",
        "after a plugin start or a kubelet restart the plugin registers within the profile's bound, "
        "listing every device, and checkpointed allocations survive a kubelet restart",
        registration,
    ),
    Invariant(
        "health-matches-nvml",
        "after settling, the kubelet's health view matches NVML's truth under the profile's health rules",
        health,
    ),
    Invariant(
        "healthy-is-watched",
        "after a rebuild, every GPU the kubelet is to see Healthy has its NVML events registered again",
        watched,
        needs=("health-xid",),
    ),
    Invariant(
        "restart-reuses-allocation",
        "a container restart keeps its devices and calls no Allocate",
        restart_reuses,
    ),
    Invariant(
        "exclusive-devices",
        "no device is held by two running containers (replicas of a shared GPU are distinct devices)",
        exclusive,
    ),
    Invariant("allocatable-within-capacity", "allocatable never exceeds capacity", within_capacity),
    Invariant(
        "admits-healthy-known",
        "the kubelet never admits a pod onto an unhealthy or unknown device",
        never={"violations": {"rule": {"one_of": ADMISSION_RULES}, "count": {"ge": 1}}},
    ),
    Invariant(
        "call-deadlines",
        "every kubelet call to the plugin returns within its deadline",
        never={"violations": {"rule": {"one_of": DEADLINE_RULES}, "count": {"ge": 1}}},
    ),
    Invariant(
        "kubelet-contract",
        "the plugin causes no contract violation (the fake kubelet's checks, stricter than the kubelet)",
        never={"violations": {"rule": {"not": {"one_of": NOT_CONTRACT}}, "count": {"ge": 1}}},
    ),
    Invariant("plugin-alive", "the plugin process never dies unless an action stopped it", alive),
)

BY_NAME = {i.name: i for i in INVARIANTS}


def select(names: Sequence[str] | None, claims: Claims | None) -> tuple[Invariant, ...]:
    """The invariants to check: those named (all by default) that the plugin's claims allow."""
    if names:
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            raise ValueError(f"unknown invariant {unknown[0]!r}; invariants: {', '.join(BY_NAME)}")
    chosen = [i for i in INVARIANTS if not names or i.name in names]
    return tuple(i for i in chosen if i.applies(claims))
