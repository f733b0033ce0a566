"""Start, stop, restart and crash the plugin under test and the kubelet."""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from harness.context import BLOCKING_HORIZON_S, StepError, StepFailed
from harness.model.base import Step
from harness.model.duration import Duration
from harness.model.registry import step
from harness.model.schema import doc, one_field_shorthand

if TYPE_CHECKING:
    from harness.context import Ctx


@step("plugin")
@dataclass
class PluginAction(Step):
    """Act on the plugin under test: start, stop (graceful), restart, sighup (rebuild), kill (crash)."""

    action: Literal["start", "stop", "restart", "sighup", "kill"] = doc(
        "start; stop (SIGTERM / graceful stop); restart (stop then start); sighup (rebuild, as NVIDIA's "
        "plugin does on SIGHUP); kill (SIGKILL, no cleanup)"
    )

    shorthand, shorthand_expected = one_field_shorthand("action", "just the action, e.g. 'plugin: restart'")

    def describe(self) -> str:
        return f"plugin {self.action}"

    def run(self, ctx: Ctx) -> None:
        launcher = ctx.launcher
        if launcher is None:  # pragma: no cover - the runner always makes one
            raise StepFailed("no plugin launcher")
        act = {
            "start": launcher.start,
            "stop": launcher.stop,
            "restart": launcher.restart,
            "sighup": launcher.sighup,
            "kill": launcher.kill,
        }[self.action]
        with ctx.paced(ctx.clock.now() + BLOCKING_HORIZON_S, why=f"plugin {self.action}"):
            act()  # in-process, a start held up by a slow NVML call waits on the clock


@step("kubelet")
@dataclass
class KubeletAction(Step):
    """Act on the fake kubelet: start, stop (clean), restart, crash (stale socket left behind), reboot."""

    action: Literal["start", "stop", "restart", "crash", "reboot"] = doc(
        "start; stop (clean: sockets removed); restart (stop, then start: plugin sockets cleaned, "
        "checkpoint read, pods admitted again); crash (stop without cleanup: kubelet.sock stays, stale); "
        "reboot (a node reboot: every container gone, then a start that admits the pods again)"
    )

    shorthand, shorthand_expected = one_field_shorthand("action", "just the action, e.g. 'kubelet: restart'")

    def describe(self) -> str:
        return f"kubelet {self.action}"

    def run(self, ctx: Ctx) -> None:
        kubelet = ctx.kubelet
        if self.action == "start" and kubelet.serving:
            raise StepError(
                "the kubelet is already running, so 'kubelet: start' cannot start it",
                fix="use 'kubelet: restart', or stop it first ('kubelet: stop' or 'kubelet: crash')",
            )
        if self.action in ("stop", "crash") and not kubelet.serving:
            raise StepError(
                f"the kubelet is not running, so 'kubelet: {self.action}' has nothing to stop",
                fix="start it first ('kubelet: start'); with kubelet: {start: false} a scenario "
                "begins with it stopped",
            )
        getattr(kubelet, self.action)()


@step("advance")
@dataclass
class Advance(Step):
    """Jump the scenario clock forward (virtual time): the kubelet's timers that fall due fire now."""

    by: Duration = doc("how far, e.g. 5m (the kubelet's endpoint grace period) or 30s")

    shorthand, shorthand_expected = one_field_shorthand("by", "a duration, e.g. 'advance: 5m'")

    def describe(self) -> str:
        return f"advance {self.by}"

    def run(self, ctx: Ctx) -> None:
        ctx.note("advance", seconds=float(self.by))  # reports draw the jump as a break
        ctx.clock.advance(float(self.by))
        ctx.log.touch()
