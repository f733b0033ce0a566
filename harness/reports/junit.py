"""JUnit XML for CI systems (under pytest, pytest's own ``--junitxml`` does this)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.listeners import Listener, Outcome
from harness.result import Result, Status


def write_junit(path: Path, results: list[Result], suite: str = "scenarios") -> Path:
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(sum(r.status == Status.FAILED for r in results)),
        errors=str(sum(r.status == Status.ERROR for r in results)),
        skipped=str(sum(r.status == Status.SKIPPED for r in results)),
        time=f"{sum(r.duration_s for r in results):.3f}",
    )
    for r in results:
        classname = str(Path(r.path).with_suffix("")).replace("/", ".") if r.path else "scenarios"
        case = ET.SubElement(root, "testcase", classname=classname, name=r.id, time=f"{r.duration_s:.3f}")
        if r.status in (Status.FAILED, Status.ERROR):
            tag = "failure" if r.status == Status.FAILED else "error"
            message = r.failure.message if r.failure else r.status
            ET.SubElement(case, tag, message=message).text = r.report()
        elif r.status == Status.SKIPPED:
            ET.SubElement(case, "skipped", message=r.skip_reason)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


class JunitReport(Listener):
    """``<run>/junit.xml`` when the session ends."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "junit.xml"

    def session_finished(self, outcome: Outcome) -> None:
        write_junit(self.path, outcome.results)
