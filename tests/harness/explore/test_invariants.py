"""The obligations explore derives from its model, without the stack: what each check demands."""

from __future__ import annotations

from harness.explore.invariants import EVENT_HOLD, Situation, health, watched
from harness.explore.plugins import RECOVERY, HealthRules
from harness.explore.world import GpuTruth, World

RESOURCE = "nvidia.com/gpu"


class Probe:
    """A live run as the invariants see it: nothing fired, every build registered."""

    def fired(self) -> dict[str, int]:
        return {}

    def registered_since_generation(self, resource: str) -> bool:
        return True

    def allocation_ids(self, pod: str, container: str, resource: str) -> list[str] | None:
        return None

    def quantities(self) -> dict[str, tuple[int, int]]:
        return {RESOURCE: (2, 2)}

    def running(self) -> bool:
        return True


class Claims:
    name = "test"

    def claims(self, feature: str) -> bool:
        return True

    def bound(self, name: str) -> float:
        return 2.0


def _world(rules: HealthRules) -> World:
    world = World([GpuTruth(i, f"GPU-{i}", {RESOURCE: 1}) for i in range(2)], rules, 2.0)
    world.plugin_start(0, {})
    return world


def _situation(world: World, action: str, **args: object) -> Situation:
    return Situation(world, action, dict(args), Claims(), Probe())


def test_after_a_rebuild_each_healthy_gpu_must_have_its_events_registered() -> None:
    world = _world(RECOVERY)
    world.kubelet_stop()
    world.kubelet_start(10, {})
    obligations = watched(_situation(world, "kubelet_restart"))
    assert [o.conditions for o in obligations] == [
        {
            "health": {f"gpu{i}": "Healthy"},
            "event": {"source": "node", "kind": "events_registered", "since": "step", "data": {"gpu": i}},
        }
        for i in range(2)
    ]
    assert all(o.within >= 2.0 + RECOVERY.recovery_bound for o in obligations)


def test_a_gpu_lost_at_the_rebuild_or_checks_off_demand_no_registration() -> None:
    world = _world(RECOVERY)
    world.lose(1)
    world.plugin_sighup(10, {})
    assert [o.conditions["event"]["data"] for o in watched(_situation(world, "plugin_sighup"))] == [
        {"gpu": 0}
    ]
    off = _world(HealthRules(checks_off=True))
    assert watched(_situation(off, "start")) == []
    assert watched(_situation(_world(RECOVERY), "xid", gpu=0, xid=79)) == []  # not a rebuild


def test_the_health_view_after_an_xid_must_hold_not_only_be_reached() -> None:
    world = _world(HealthRules())
    world.xid(0, 13)  # an application XID: nothing changes, and must not for a while
    (after_xid,) = health(_situation(world, "xid", gpu=0, xid=13))
    assert after_xid.conditions == {"health": {"gpu0": "Healthy", "gpu1": "Healthy"}}
    assert after_xid.hold == EVENT_HOLD > 0
    (after_jump,) = health(_situation(world, "advance", by="30s"))
    assert after_jump.hold == 0


def _wanted(world: World, action: str) -> dict[str, str]:
    (obligation,) = health(_situation(world, action))
    return dict(obligation.conditions["health"])


def test_losing_a_gpu_outside_the_event_set_fails_no_wait() -> None:
    keeps = HealthRules(keeps_serving=True)
    world = _world(keeps)
    world.lose(0)
    assert _wanted(world, "gpu_lost") == {"gpu0": "Unhealthy", "gpu1": "Unhealthy"}  # the wait failed
    world.plugin_sighup(10, {})  # rebuilt while lost: gpu0 served Unhealthy, its events not registered
    world.recover(0)
    world.lose(0)
    assert _wanted(world, "gpu_lost") == {"gpu0": "Unhealthy", "gpu1": "Healthy"}


def test_a_loss_after_a_call_failure_fired_leaves_the_others_open() -> None:
    world = _world(HealthRules(keeps_serving=True))
    world.nvml_error("nvmlDeviceGetHandleByUUID", 1, 5)
    world.plugin_sighup(10, {})  # pending when the rebuild began: it may cost gpu0 its registration
    world.lose(0)
    assert _wanted(world, "gpu_lost") == {"gpu0": "Unhealthy"}
