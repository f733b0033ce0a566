"""Allure results written by the CLI (``<reports>/allure-results``): one result per case, its
steps, and the timeline and event log attached. Under pytest, allure-pytest does this instead
(see harness.pytest_plugin)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from harness.reports.svg import render_svg
from harness.reports.timeline import build_timeline
from harness.result import Result, Status

STATUS = {Status.PASSED: "passed", Status.FAILED: "failed", Status.ERROR: "broken", Status.SKIPPED: "skipped"}


def write_allure(folder: Path, result: Result) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stop = int(time.time() * 1000)
    start = stop - int(result.duration_s * 1000)
    attachments = []
    svg = render_svg(build_timeline(result.events, result.gpus), result.id)
    for name, kind, ext, body in (
        ("timeline", "image/svg+xml", "svg", svg),
        ("events", "application/json", "json", json.dumps(result.events, indent=1)),
    ):
        source = f"{uuid.uuid4()}-attachment.{ext}"
        (folder / source).write_text(body, encoding="utf-8")
        attachments.append({"name": name, "source": source, "type": kind})
    data = {
        "uuid": str(uuid.uuid4()),
        "historyId": result.id,
        "name": result.id,
        "fullName": f"{result.path}::{result.id}",
        "description": result.description,
        "status": STATUS.get(result.status, "unknown"),
        "statusDetails": {"message": result.report() if result.status != Status.PASSED else ""},
        "steps": [
            {"name": s.title, "status": STATUS.get(s.status, "unknown"), "start": start, "stop": stop}
            for s in result.steps
        ],
        "attachments": attachments,
        "start": start,
        "stop": stop,
        "labels": [{"name": "tag", "value": t} for t in result.tags]
        + [{"name": "suite", "value": Path(result.path).parent.name or "scenarios"}],
    }
    path = folder / f"{data['uuid']}-result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
