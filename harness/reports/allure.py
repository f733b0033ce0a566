"""Allure results, the same from both front ends.

What a case adds to allure is decided once (:func:`details`: description, labels, and the
timeline, events and plugin log as attachments). ``dp-harness run`` writes it with its steps
into ``allure-results/`` (:class:`AllureReport`); under pytest, allure-pytest owns the test
result and :class:`AllureSteps` adds the same: each scenario step as a live allure step, then
the details.

Each case has its own stable identity (:func:`identity`). allure keys history and retries by
``historyId``; allure-pytest derives it from the test's full name and its parameters, and a
scenario item has no pytest parameters, so every matrix case of a file used to get the same id:
allure showed one test, the last case's status on top and the others under "Retries". The
matrix case is therefore an allure parameter (``case``) in both front ends, computed as
allure-pytest computes it, so a case keeps its id from run to run and from one front end to the
other (run from the same folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.listeners import Listener, StepStart
from harness.reports.svg import render_svg
from harness.reports.timeline import timeline_of
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


@dataclass(frozen=True)
class Identity:
    """Who a case is to allure: the same from run to run, distinct for each matrix case."""

    full_name: str  # as allure-pytest names the item: "scenarios.health.xid-fatal#xid-fatal"
    parameters: tuple[tuple[str, str], ...]  # ("case", "'79'"): the matrix case, as allure-pytest shows it

    @property
    def test_case_id(self) -> str:
        """The same for every matrix case of one file (allure groups them as one test case)."""
        return md5(self.full_name)

    @property
    def history_id(self) -> str:
        """Distinct per matrix case; allure's history and retries follow it."""
        return md5(self.full_name, *(value for _, value in sorted(self.parameters)))

    def with_parameter(self, name: str, value: str) -> Identity:
        """The same case seen from somewhere else (a fleet report adds the node)."""
        kept = tuple(p for p in self.parameters if p[0] != name)
        return Identity(self.full_name, (*kept, (name, represent(value))))


def md5(*parts: str) -> str:
    """allure-python's id hash: the md5 of the parts' UTF-8 bytes, concatenated."""
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def represent(value: str) -> str:
    """A parameter value as allure-pytest writes a ``str`` (its ``repr``, quotes included)."""
    return repr(value)


def _parts(path: str) -> list[str]:
    """The case file's path relative to here (as pytest's node ids are), split at '/'."""
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path.lstrip("/")
    return path.replace(os.sep, "/").split("/")


def suites(result: Result) -> list[tuple[str, str]]:
    """Where allure files the case: library > folder > file, so a file's matrix cases sit together."""
    *folders, filename = _parts(result.path)
    stem = Path(filename).stem
    if not folders:
        return [("suite", stem)]
    if len(folders) == 1:
        return [("parentSuite", folders[0]), ("suite", stem)]
    return [("parentSuite", folders[0]), ("suite", ".".join(folders[1:])), ("subSuite", stem)]


def identity(result: Result) -> Identity:
    """The case's allure identity, from its file (as allure-pytest names the item)."""
    *folders, filename = _parts(result.path)
    package = ".".join([*folders, filename.rsplit(".", 1)[0]])
    stem = result.id.split("[", 1)[0]
    parameters = (("case", represent(result.case)),) if result.case else ()
    return Identity(f"{package}#{stem}", parameters)


def simulated_faults(result: Result) -> list[str]:
    """The faults injected into real NVML (overlay events), as 'XID 79 on gpu1 at 0.412s'."""
    out = []
    for e in result.events:
        data = e.get("data", {})
        if e["source"] == "node" and data.get("overlay"):
            what = f"XID {data.get('xid')}" if e["kind"] == "xid" else str(e["kind"]).upper()
            out.append(f"{what} on gpu{data.get('gpu')} at {e['t']:.3f}s")
    return out


def details(result: Result) -> Details:
    """What a case shows in allure besides its status and steps."""
    timeline = render_svg(timeline_of(result), result.id)
    plugin_log = "\n".join(
        str(e["data"].get("line", ""))
        for e in result.events
        if e["source"] == "plugin" and e["kind"] == "log"
    )
    labels = [("tag", t) for t in result.tags] + suites(result)
    description = result.description
    if overlaid := simulated_faults(result):
        labels.append(("tag", "simulated-fault"))
        description += (
            "\n\nRan on real GPUs. Its injected faults are simulated, overlaid on real NVML's event "
            f"waits; the GPUs never had them: {', '.join(overlaid)}."
        )
    return Details(
        description,
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
        who = identity(result)
        data: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "historyId": who.history_id,
            "testCaseId": who.test_case_id,
            "name": result.id,
            "fullName": who.full_name,
            "parameters": [{"name": n, "value": v} for n, v in who.parameters],
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
        if result.case:  # allure-pytest folds it into the historyId at teardown (see identity())
            self.allure.dynamic.parameter("case", result.case)
        info = details(result)
        self.allure.dynamic.description(info.description)
        for name, value in info.labels:
            self.allure.dynamic.label(name, value)
        kinds = {"svg": self.allure.attachment_type.SVG, "json": self.allure.attachment_type.JSON}
        for a in info.attachments:
            self.allure.attach(
                a.body, name=a.name, attachment_type=kinds.get(a.extension, self.allure.attachment_type.TEXT)
            )
