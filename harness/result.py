"""The outcome of one scenario case: status, the failing step and what was seen, timings, events.

Plain dataclasses (picklable, JSON-able) so that results cross process boundaries (``-n``)
and feed every report from one place.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """How a case or a step ended (a ``str``, so results stay JSON as they were)."""

    PASSED = "passed"
    FAILED = "failed"  # an expectation of the scenario did not hold
    ERROR = "error"  # the harness, a component or the scenario itself broke
    SKIPPED = "skipped"  # the case cannot run here; the reason says why

    @property
    def ok(self) -> bool:
        """Passed or skipped: nothing to fix."""
        return self in (Status.PASSED, Status.SKIPPED)


@dataclass
class StepResult:
    index: int
    key: str
    title: str
    loc: str
    status: Status
    t_start: float = 0.0
    t_end: float = 0.0
    wall_s: float = 0.0
    message: str = ""


@dataclass
class Failure:
    """Why a scenario failed: the step, the expectation, what was observed."""

    step: str
    loc: str
    message: str
    expectation: str = ""
    observed: str = ""
    traceback: str = ""
    hint: str = ""  # what to change (an error of the scenario), or where to look (a bug)
    health: dict[str, str] = field(default_factory=dict)  # device ID → health the expectation wanted


@dataclass
class Result:
    id: str
    path: str
    case: str
    title: str
    description: str
    tags: list[str]
    status: Status = Status.PASSED
    skip_reason: str = ""
    failure: Failure | None = None
    steps: list[StepResult] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    gpus: list[dict[str, Any]] = field(default_factory=list)
    setup_s: float = 0.0
    run_s: float = 0.0
    teardown_s: float = 0.0
    launcher: str = ""
    started_at: float = 0.0  # wall-clock time (epoch seconds) when the case began
    outline: list[dict[str, Any]] = field(default_factory=list)  # every step: index, key, title, loc
    source: str = ""  # where the behaviour the case pins comes from (the scenario's source:)

    @property
    def node_id(self) -> str:
        """``path::id``: what ``dp-harness run`` and pytest take to select exactly this case."""
        return f"{self.path}::{self.id}"

    @property
    def duration_s(self) -> float:
        return self.setup_s + self.run_s + self.teardown_s

    @property
    def overhead_s(self) -> float:
        """Setup + teardown of the kubelet, the node and the plugin: what the harness costs."""
        return self.setup_s + self.teardown_s

    @property
    def ok(self) -> bool:
        return self.status.ok

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration_s"] = self.duration_s
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        failure = data.pop("failure", None)
        steps = [StepResult(**{**s, "status": Status(s["status"])}) for s in data.pop("steps", [])]
        if "status" in data:
            data["status"] = Status(data["status"])
        result = cls(**data)
        result.failure = Failure(**failure) if failure else None
        result.steps = steps
        return result

    def report(self, last_events: int = 12) -> str:
        """The readable failure (or skip) message: step, expectation, observation, last events."""
        if self.status == Status.SKIPPED:
            return f"{self.id}: skipped: {self.skip_reason}"
        if self.failure is None:
            return f"{self.id}: {self.status}"
        f = self.failure
        lines = [f"{self.id} {self.status} at {f.step}", f"  at {f.loc}", f"  {f.message}"]
        if f.expectation:
            lines.append(f"  expected: {f.expectation}")
        if f.observed:
            lines.append(f"  observed: {f.observed}")
        if f.hint:
            lines.append(
                f"  fix: {f.hint}" if self.status == Status.ERROR and not f.traceback else f"  {f.hint}"
            )
        story = self.events
        cut = next(
            (i for i, e in enumerate(story) if e["source"] == "harness" and e["kind"] == "teardown"), None
        )
        if cut is not None:
            story = story[:cut]  # the events up to the failure, not the teardown's
        if story:
            lines.append(f"  last events (of {len(story)}):")
            for e in story[-last_events:]:
                details = " ".join(f"{k}={v!r}" for k, v in e.get("data", {}).items())
                lines.append(f"    {e['t']:9.3f}s {e['source']:<8} {e['kind']:<18} {details}"[:220])
        if f.traceback:
            lines.append(f.traceback.rstrip())
        return "\n".join(lines)
