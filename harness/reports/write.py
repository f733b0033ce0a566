"""Per-case report files: ``<run>/<case>/result.json``, ``events.json``, ``timeline.svg``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.reports.svg import render_svg
from harness.reports.timeline import timeline_of
from harness.result import Result


def case_dir(reports: Path, result: Result) -> Path:
    """A file-system-safe folder name per case: ``<folder>-<file>[case]`` flattened."""
    parent = Path(result.path).parent.name if result.path else ""
    raw = f"{parent}-{result.id}" if parent else result.id
    return reports / re.sub(r"[^A-Za-z0-9_.=+-]+", "_", raw).strip("_")


def write_case(reports: Path, result: Result) -> Path:
    folder = case_dir(reports, result)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.json").write_text(json.dumps(result.events, indent=1, default=str), encoding="utf-8")
    summary = result.to_dict()
    summary.pop("events")
    (folder / "result.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    timeline = timeline_of(result)
    (folder / "timeline.svg").write_text(
        render_svg(timeline, f"{result.id}: {result.status}"), encoding="utf-8"
    )
    return folder


def read_results(reports: Path) -> list[Result]:
    """Every case written under ``reports`` (without their events)."""
    results = []
    for path in sorted(reports.glob("*/result.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["events"] = []
        results.append(Result.from_dict(data))
    return results
