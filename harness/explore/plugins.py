"""Which configurations of the plugin under test explore draws, and the health rules each implies.

What the plugin claims comes from its plugin profile (:mod:`harness.profiles`, ``--plugin-profile``):
the features decide which invariants apply, which variants are drawn and how strict the health
rules are; the bounds are the invariants' deadlines. A :class:`Variant` is one configuration
(flags, environment, config file) with the rules it implies; a variant is drawn only when the
profile claims what it needs (a flag needs ``flags``, a config file ``config-file``), so health
checks off, extra ignored XIDs, recovery and time-slicing replicas are explored for any plugin
that offers them. The rules are written here from NVIDIA's documented behaviour, not imported
from ``plugin/``: an oracle that shares the implementation's code cannot disagree with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

# NVIDIA's application XIDs, ignored by default (internal/rm/health.go; 109 since v0.17.1).
NVIDIA_IGNORED_XIDS = frozenset({13, 31, 43, 45, 68, 109})


class Claims(Protocol):
    """What explore reads of a plugin profile (:class:`harness.profiles.Profile` is one)."""

    name: str

    def claims(self, feature: str) -> bool: ...
    def bound(self, name: str) -> float: ...


@dataclass(frozen=True)
class HealthRules:
    """How the plugin's health view should follow NVML (NVIDIA's rules, and ours on top)."""

    xids: bool = True  # a critical XID makes its GPU's devices Unhealthy
    nvml_errors: bool = True  # a failing event wait (a lost GPU) makes every device Unhealthy
    checks_off: bool = False  # DP_DISABLE_HEALTHCHECKS=all: nothing is watched, all stays Healthy
    ignored_xids: frozenset[int] = NVIDIA_IGNORED_XIDS
    recovery: bool = False  # --health-recovery: devices return once NVML answers again
    # a rebuild never exits; it serves a lost GPU Unhealthy (our-rebuild-keeps-serving)
    keeps_serving: bool = False
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
    Variant("time-slicing-2", replicas=2, needs=("time-slicing", "config-file")),
    Variant(
        "recovery-time-slicing-2",
        ("--health-recovery",),
        replicas=2,
        rules=RECOVERY,
        needs=("our-health-recovery", "time-slicing", "config-file"),
    ),
)

# What every variant's rules need: NVIDIA's health checks (a plugin without them is not judged on health).
HEALTH_FEATURES = ("health-xid", "health-nvml-errors")


def variants(claims: Claims) -> tuple[Variant, ...]:
    """The variants the profile allows (those whose needs it claims; the defaults always), with
    the rules the profile's claims add."""
    keeps = claims.claims("our-rebuild-keeps-serving")
    return tuple(
        dataclasses.replace(v, rules=dataclasses.replace(v.rules, keeps_serving=keeps))
        for v in VARIANTS
        if all(claims.claims(n) for n in v.needs)
    )
