"""Allure results, the same from both front ends.

What a case adds to allure is decided once (:func:`details`: description, labels, and the
timeline, events and plugin log as attachments). ``dp-harness run`` writes it with its steps
into ``allure-results/`` (:class:`AllureReport`); under pytest, allure-pytest owns the test
result and :class:`AllureSteps` adds the same: each scenario step as a live allure step, then
the details.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.listeners import Listener, StepStart
from harness.reports.svg import render_svg
from harness.reports.timeline import build_timeline
from harness.result import Result, Status, StepResult

STATUS = {Status.PASSED: "passed", Status.FAILED: "failed", Status.ERROR: "broken", Status.SKIPPED: "skipped"}


@dataclass(frozen=True)
class Attachment:
    name: str
    mime: str
    extension: str
    body: str


@dataclass(frozen=True)
class Details:
    description: str
    labels: list[tuple[str, str]]
    attachments: list[Attachment]


def details(result: Result) -> Details:
    """What a case shows in allure besides its status and steps."""
    timeline = render_svg(build_timeline(result.events, result.gpus, result.steps), result.id)
    plugin_log = "\n".join(
        str(e["data"].get("line", ""))
        for e in result.events
        if e["source"] == "plugin" and e["kind"] == "log"
    )
    labels = [("tag", t) for t in result.tags] + [("suite", Path(result.path).parent.name or "scenarios")]
    return Details(
        result.description,
        labels,
        [
            Attachment("timeline", "image/svg+xml", "svg", timeline),
            Attachment(
                "events", "application/json", "json", json.dumps(result.events, indent=1, default=str)
            ),
            Attachment("plugin log", "text/plain", "txt", plugin_log),
        ],
    )


class AllureReport(Listener):
    """One ``<uuid>-result.json`` per case (with its steps and attachments) in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def case_finished(self, result: Result) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        start = int(result.started_at * 1000)
        info = details(result)
        attachments = []
        for a in info.attachments:
            source = f"{uuid.uuid4()}-attachment.{a.extension}"
            (self.folder / source).write_text(a.body, encoding="utf-8")
            attachments.append({"name": a.name, "source": source, "type": a.mime})
        steps = []
        t = result.started_at + result.setup_s
        for s in result.steps:
            steps.append(
                {
                    "name": s.title,
                    "status": STATUS[s.status],
                    "statusDetails": {"message": s.message} if s.message else {},
                    "start": int(t * 1000),
                    "stop": int((t + s.wall_s) * 1000),
                }
            )
            t += s.wall_s
        data: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "historyId": result.node_id,
            "name": result.id,
            "fullName": result.node_id,
            "description": info.description,
            "status": STATUS[result.status],
            "statusDetails": {"message": result.report() if result.status != Status.PASSED else ""},
            "steps": steps,
            "attachments": attachments,
            "start": start,
            "stop": start + int(result.duration_s * 1000),
            "labels": [{"name": n, "value": v} for n, v in info.labels],
        }
        (self.folder / f"{data['uuid']}-result.json").write_text(json.dumps(data), encoding="utf-8")


class AllureSteps(Listener):
    """Under pytest with allure-pytest: each scenario step a live allure step, then the details."""

    def __init__(self, allure: ModuleType) -> None:
        self.allure = allure
        self._open: list[Any] = []

    @classmethod
    def if_available(cls) -> AllureSteps | None:
        try:
            import allure
        except ImportError:
            return None
        return cls(allure)

    def step_started(self, case: str, step: StepStart) -> None:
        context = self.allure.step(step.title)
        context.__enter__()
        self._open.append(context)

    def step_finished(self, case: str, step: StepResult) -> None:
        context = self._open.pop()
        if step.status == Status.PASSED:
            context.__exit__(None, None, None)
        else:  # allure marks an AssertionError "failed" and anything else "broken", as STATUS does
            error: BaseException = (
                AssertionError(step.message) if step.status == Status.FAILED else RuntimeError(step.message)
            )
            context.__exit__(type(error), error, None)

    def case_finished(self, result: Result) -> None:
        info = details(result)
        self.allure.dynamic.description(info.description)
        for name, value in info.labels:
            self.allure.dynamic.label(name, value)
        kinds = {"svg": self.allure.attachment_type.SVG, "json": self.allure.attachment_type.JSON}
        for a in info.attachments:
            self.allure.attach(
                a.body, name=a.name, attachment_type=kinds.get(a.extension, self.allure.attachment_type.TEXT)
            )
