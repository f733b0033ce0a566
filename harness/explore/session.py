"""An explore session: the fleet, the budget, Hypothesis batches, findings and figures.

Runs are drawn in batches of Hypothesis examples, each batch seeded from the session's seed,
so a session replays from ``--seed`` alone. The example database is off on purpose: a replay
from the seed must not depend on what an earlier session stored, and the reproducer YAML is
what persists. A batch that finds a violation shrinks it (bounded by ``shrink_budget``) and
Hypothesis replays the shrunk run once more, which is the run whose steps are written out.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.errors import Flaky, FlakyReplay, FlakyStrategyDefinition, Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test

from harness.explore.checking import Tally, Violation
from harness.explore.fleet import FleetNode, fleet
from harness.explore.invariants import Invariant, select
from harness.explore.leaks import LeakMeter
from harness.explore.live import LiveRun
from harness.explore.machine import machine_for
from harness.explore.options import ExploreOptions
from harness.explore.plugins import Claims, Variant, variants
from harness.explore.world import GPU_RESOURCE
from harness.options import RunOptions

BATCH = 50  # Hypothesis examples per batch; idle examples after the budget cost microseconds


@dataclass
class Finding:
    """A violation Hypothesis shrank and replayed (or an error of the harness itself)."""

    invariant: str  # "" for an error
    signature: str  # which rule broke and why (see checking.Violation)
    message: str
    observed: str
    header: dict[str, Any]
    steps: list[dict[str, Any]]
    actions: int
    batch_seed: int
    flaky: bool = False
    error: str = ""  # traceback of an error that is no invariant's violation
    path: Path | None = None  # the reproducer, once written
    replay_dir: Path | None = None  # the replay's case report (events, timeline)
    confirmed: bool | None = None  # did the reproducer fail in `harness run` for the same reason?
    replay_status: str = ""
    # when it was first seen, before shrinking: seconds into the session, runs so far, and the
    # actions of that first failing run (what shrinking started from)
    found_after: float = 0.0
    found_runs: int = 0
    found_actions: int = 0
    shrink_seconds: float = 0.0  # how long shrinking took, and the runs it tried
    shrink_runs: int = 0
    # each shorter failing run shrinking met: (seconds after it was first seen, actions)
    shrink_steps: list[tuple[float, int]] = field(default_factory=list)


class Session:
    def __init__(
        self,
        options: ExploreOptions,
        claims: Claims | None = None,
        progress: Callable[[Session], None] | None = None,
    ) -> None:
        from harness.runner import run_profile

        self.options = options
        self.claims: Claims = claims or run_profile(options.run_options)
        self.resource = str(getattr(self.claims, "resource", GPU_RESOURCE))
        self.fleet: list[FleetNode] = fleet(options.seed, options.fleet_size)
        self.variants: tuple[Variant, ...] = variants(self.claims)
        self.invariants: tuple[Invariant, ...] = select(options.invariants, self.claims)
        self.tally = Tally()
        self.leaks = LeakMeter()
        self.findings: list[Finding] = []
        self.known: set[str] = set()  # signatures already found: met again, they are counted only
        self.progress = progress
        self.started = 0.0
        self.wall = 0.0
        self._shrink_started: float | None = None
        self._first_seen: tuple[float, int, int] | None = None  # this batch's: see Finding.found_after
        self._shrink_steps: list[tuple[float, int]] = []

    # -- what the machine asks ---------------------------------------------------------------
    @property
    def run_options(self) -> RunOptions:
        return self.options.run_options

    def spent(self) -> bool:
        now = time.monotonic()
        if self._shrink_started is not None:
            return now - self._shrink_started > self.options.shrink_budget
        return now - self.started > self.options.budget or self.tally.runs >= self.options.max_examples

    def header(self, node: FleetNode, variant: Variant) -> dict[str, Any]:
        """The scenario header of one run: its node (inline profile) and plugin configuration."""
        mig = bool(node.mig) and self.claims.claims("mig-mixed") and self.claims.claims("flags")
        profile = node.profile
        if node.mig and not mig:
            profile = {
                **profile,
                "gpus": [{k: v for k, v in g.items() if k != "mig"} for g in profile["gpus"]],
            }
        header: dict[str, Any] = {
            "description": f"explore: {node.describe()}, plugin {variant.name}",
            "tags": ["explore"],
            "node": {"spec": profile, "seed": self.options.seed},
        }
        plugin = variant.plugin_section(mig)
        if plugin:
            header["plugin"] = plugin
        return header

    def plugin_actions(self) -> tuple[str, ...]:
        names = ["plugin_stop", "plugin_kill", "plugin_restart"]
        if self.claims.claims("sighup"):
            names.append("plugin_sighup")
        return tuple(names)

    def elapsed(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0

    def skipped_invariants(self) -> list[str]:
        """Invariants left out because the plugin's profile does not claim what they need."""
        chosen = {i.name for i in self.invariants}
        return [i.name for i in select(self.options.invariants, None) if i.name not in chosen]

    def run_started(self, run: LiveRun) -> None:
        self.tally.runs += 1

    def run_finished(self, run: LiveRun) -> None:
        self.leaks.after_run()
        if self.progress is not None:
            self.progress(self)

    def violation_seen(self, actions: int) -> None:
        """A run broke an invariant; the first time in a batch, its shrinking begins. Each
        shorter failing run after it is a step of the shrink (``Finding.shrink_steps``)."""
        if self._shrink_started is None:
            self._shrink_started = time.monotonic()
            self._first_seen = (self.elapsed(), self.tally.runs, actions)
            self._shrink_steps = []
        elif self._first_seen is not None:
            shortest = min([self._first_seen[2], *(n for _, n in self._shrink_steps)])
            if actions < shortest:
                self._shrink_steps.append((self.elapsed() - self._first_seen[0], actions))

    # -- the session -------------------------------------------------------------------------
    def settings(self) -> settings:
        return settings(
            max_examples=BATCH,
            stateful_step_count=self.options.steps,
            deadline=None,
            database=None,
            derandomize=False,
            phases=(Phase.generate, Phase.shrink),
            report_multiple_bugs=False,  # shrink the first bug at once; the next batch goes on
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )

    def explore(self) -> list[Finding]:
        self.started = time.monotonic()
        seeds = random.Random(self.options.seed)
        while not self.spent():
            batch_seed = seeds.getrandbits(32)
            machine = seed(batch_seed)(machine_for(self))
            self._shrink_started = None
            self._first_seen = None
            try:
                run_state_machine_as_test(machine, settings=self.settings())
            except BaseException as exc:  # what Hypothesis raised after shrinking
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._collect(exc, batch_seed)
            self._shrink_started = None
            if any(f.error for f in self.findings):
                break  # the harness itself broke: more runs would only repeat it
        self.wall = time.monotonic() - self.started
        return self.findings

    def _collect(self, exc: BaseException, batch_seed: int, flaky: bool = False) -> None:
        if isinstance(exc, Unsatisfiable):
            return  # the budget ran out before this batch drew a run of its own
        if isinstance(exc, (FlakyStrategyDefinition, FlakyReplay)):
            # A replay took another path than the run it replays (the system answered otherwise):
            # counted, not a finding; the batch's runs were checked as they ran.
            self.tally.inconsistent += 1
            return
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                self._collect(inner, batch_seed, flaky or isinstance(exc, Flaky))
            return
        if isinstance(exc, Violation):
            finding = Finding(
                exc.invariant,
                exc.signature,
                exc.message,
                exc.observed,
                exc.header,
                exc.steps,
                exc.actions,
                batch_seed,
                flaky=flaky,
            )
            if self._first_seen is not None:
                finding.found_after, finding.found_runs, finding.found_actions = self._first_seen
                finding.shrink_seconds = self.elapsed() - finding.found_after
                finding.shrink_runs = self.tally.runs - finding.found_runs
                finding.shrink_steps = list(self._shrink_steps)
            self.tally.violations[exc.invariant] += 1
            self.known.add(exc.signature)
        else:
            text = "".join(traceback.format_exception(exc, limit=12))
            message = f"{type(exc).__name__}: {exc}"
            finding = Finding("", "", message, "", {}, [], 0, batch_seed, flaky, text)
        self.findings.append(finding)
