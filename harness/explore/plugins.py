"""Which plugin runs, in which configuration, and what the model may expect of it.

:class:`Claims` is what a plugin profile says (the features of ``docs/conformance.md`` and time
bounds); it decides which invariants apply and how strict the health rules are. Our plugin
claims NVIDIA's rules plus opt-in recovery; any other plugin gets the generic claims (the
kubelet's API only) until ``--plugin-profile`` names its profile.

A :class:`Variant` is one configuration of the plugin under test (flags, environment, config
file) together with the health rules it implies. Explore draws one per run, so health checks
off, extra ignored XIDs, recovery and time-slicing replicas are all explored. The rules are
written here from NVIDIA's documented behaviour, not imported from ``plugin/``: an oracle that
shares the implementation's code cannot disagree with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# NVIDIA's application XIDs, ignored by default (internal/rm/health.go; 109 since v0.17.1).
NVIDIA_IGNORED_XIDS = frozenset({13, 31, 43, 45, 68, 109})

NVIDIA_FEATURES = frozenset({"health-xid", "health-nvml-errors", "health-env", "sighup", "mig-mixed"})
OURS_FEATURES = NVIDIA_FEATURES | {"our-health-recovery", "time-slicing"}


@dataclass(frozen=True)
class Claims:
    """What the plugin under test claims: feature names as in plugin profiles, and its bounds (s)."""

    name: str
    features: frozenset[str]
    register: float = 5.0  # start → registered with every device listed
    reregister: float = 5.0  # kubelet restart → registered again
    health: float = 2.0  # a fault → the device Unhealthy in ListAndWatch

    def claims(self, feature: str) -> bool:
        return feature in self.features


OURS = Claims("ours", OURS_FEATURES)
GENERIC = Claims("generic", frozenset(), register=10.0, reregister=10.0, health=5.0)


@dataclass(frozen=True)
class HealthRules:
    """How the plugin's health view should follow NVML (NVIDIA's rules, and ours on top)."""

    xids: bool = True  # a critical XID makes its GPU's devices Unhealthy
    nvml_errors: bool = True  # a failing event wait (a lost GPU) makes every device Unhealthy
    checks_off: bool = False  # DP_DISABLE_HEALTHCHECKS=all: nothing is watched, all stays Healthy
    ignored_xids: frozenset[int] = NVIDIA_IGNORED_XIDS
    recovery: bool = False  # --health-recovery: devices return once NVML answers again
    probes: int = 3  # clean probes before a device returns (docs/plugin.md, "Recovery")
    probe_interval: float = 1.0

    def critical(self, xid: int) -> bool:
        return self.xids and not self.checks_off and xid not in self.ignored_xids

    @property
    def recovery_bound(self) -> float:
        """How long a return to Healthy may take once the cause is gone (probes, plus a probe of slack)."""
        return (self.probes + 1) * self.probe_interval


@dataclass(frozen=True)
class Variant:
    """One configuration of the plugin under test and the rules it implies."""

    name: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1  # time-slicing replicas of nvidia.com/gpu
    rules: HealthRules = HealthRules()
    needs: tuple[str, ...] = ()  # features the plugin must claim for this variant

    def config(self) -> dict[str, Any] | None:
        if self.replicas == 1:
            return None
        return {
            "version": "v1",
            "sharing": {
                "timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": self.replicas}]}
            },
        }

    def plugin_section(self, mig: bool) -> dict[str, Any]:
        """The scenario's ``plugin:`` mapping for this variant (MIG nodes run the mixed strategy)."""
        args = list(self.args) + (["--mig-strategy", "mixed"] if mig else [])
        section: dict[str, Any] = {}
        if args:
            section["args"] = args
        if self.env:
            section["env"] = dict(self.env)
        if (config := self.config()) is not None:
            section["config"] = config
        return section


RECOVERY = HealthRules(recovery=True)

# The first variant is where shrinking lands: our plugin with its defaults.
VARIANTS: tuple[Variant, ...] = (
    Variant("defaults"),
    Variant("recovery", ("--health-recovery",), rules=RECOVERY, needs=("our-health-recovery",)),
    Variant(
        "ignore-48-79",
        env={"DP_DISABLE_HEALTHCHECKS": "48,79"},
        rules=HealthRules(ignored_xids=NVIDIA_IGNORED_XIDS | {48, 79}),
        needs=("health-env",),
    ),
    Variant(
        "checks-off",
        env={"DP_DISABLE_HEALTHCHECKS": "all"},
        rules=HealthRules(checks_off=True),
        needs=("health-env",),
    ),
    Variant("time-slicing-2", replicas=2, needs=("time-slicing",)),
    Variant(
        "recovery-time-slicing-2",
        ("--health-recovery",),
        replicas=2,
        rules=RECOVERY,
        needs=("our-health-recovery", "time-slicing"),
    ),
)

# A plugin we did not write runs as given (its own flags come with --plugin-cmd).
AS_GIVEN = Variant("as-given")


def variants(claims: Claims, ours: bool) -> tuple[Variant, ...]:
    """The variants to draw from: ours in every configuration it claims; another plugin as given."""
    if not ours:
        rules = HealthRules(
            xids=claims.claims("health-xid"),
            nvml_errors=claims.claims("health-nvml-errors"),
            recovery=False,
        )
        return (Variant(AS_GIVEN.name, rules=rules),)
    return tuple(v for v in VARIANTS if all(claims.claims(n) for n in v.needs))
