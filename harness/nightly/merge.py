"""One report of a fleet: the newest nightly run of every node, merged.

``RESULTS/<node>/latest/`` is what :mod:`harness.nightly.run` leaves on each node. The merge
writes ``OUT/<time>/`` (``OUT/latest`` points at it):

- ``allure-results/``: every node's cases, each with the parameter ``node``, so the same case on
  two nodes is two tests (its historyId includes the node: history follows each case on each
  node from night to night) filed under the node (``parentSuite``); ``environment.properties``
  names each node's GPUs and driver; ``--history REPORT`` carries the last generated report's
  trend over (``allure generate`` reads ``allure-results/history``);
- ``junit.xml``: one ``<testsuite>`` per node;
- ``nodes/<node>.yaml``: each node's recording, which CI replays with ``--node``;
- ``summary.md``: a line per node (exit, counts, GPUs), printed too.

A node whose run failed, ran nothing, or left no results makes the merge exit 1; no node at all
exits 5.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.reports.allure import Identity
from harness.reports.folder import LATEST, new_run_folder, point_latest

OUT_DEFAULT = "_fleet"  # a folder name no Kubernetes node can have (names are DNS subdomains)


@dataclass
class NodeRun:
    """The newest nightly run of one node, as found in its folder."""

    node: str
    folder: Path | None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def exit(self) -> int | None:
        value = self.summary.get("exit")
        return int(value) if isinstance(value, int) else None

    def line(self) -> str:
        if self.folder is None:
            return f"| {self.node} | no results | | |"
        counts = (
            ", ".join(f"{n} {s}" for s, n in sorted(self.summary.get("counts", {}).items())) or "no cases"
        )
        gpus = self.summary.get("gpus") or []
        hardware = f"{len(gpus)}x {gpus[0]}" if gpus and len(set(gpus)) == 1 else ", ".join(gpus) or "no NVML"
        driver = self.summary.get("driver") or ""
        status = f"{self.summary.get('status', 'unknown')} (exit {self.exit})"
        return f"| {self.node} | {status} | {counts} | {hardware} {driver}".rstrip() + " |"


def node_runs(results: Path) -> list[NodeRun]:
    """Every node folder under ``results`` and its newest run (None where it left none). Folders
    whose names start with ``_`` or ``.`` are not nodes (the merge's own output is ``_fleet``)."""
    runs = []
    for folder in sorted(p for p in results.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        latest = folder / LATEST
        run = latest.resolve() if latest.is_symlink() and latest.resolve().is_dir() else None
        summary: dict[str, Any] = {}
        if run is not None and (run / "nightly.json").is_file():
            summary = json.loads((run / "nightly.json").read_text(encoding="utf-8"))
        runs.append(NodeRun(folder.name, run, summary))
    return runs


def _allure(run: NodeRun, out: Path) -> int:
    """Copy one node's allure results into ``out``, as that node's tests; the number of cases."""
    assert run.folder is not None
    source = run.folder / "allure-results"
    if not source.is_dir():
        return 0
    cases = 0
    for path in sorted(source.iterdir()):
        if not path.name.endswith("-result.json"):
            shutil.copy2(path, out / path.name)  # attachments (and containers) keep their uuid names
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        params = tuple((p["name"], p["value"]) for p in data.get("parameters", []))
        who = Identity(data["fullName"], params).with_parameter("node", run.node)
        data["historyId"] = who.history_id
        data["testCaseId"] = who.test_case_id
        data["parameters"] = [{"name": n, "value": v} for n, v in who.parameters]
        labels = [lb for lb in data.get("labels", []) if lb["name"] not in ("parentSuite", "host")]
        data["labels"] = [
            {"name": "parentSuite", "value": run.node},
            {"name": "host", "value": run.node},
            *labels,
        ]
        (out / path.name).write_text(json.dumps(data), encoding="utf-8")
        cases += 1
    return cases


def _junit(runs: list[NodeRun], out: Path) -> None:
    suites = ET.Element("testsuites", name="nightly")
    for run in runs:
        path = run.folder / "junit.xml" if run.folder is not None else None
        if path is None or not path.is_file():
            continue
        root = ET.parse(path).getroot()
        for suite in [root] if root.tag == "testsuite" else list(root.iter("testsuite")):
            suite.set("name", f"{run.node}: {suite.get('name', '')}")
            suite.set("hostname", run.node)
            for case in suite.iter("testcase"):
                case.set("classname", f"{run.node}.{case.get('classname', '')}")
            suites.append(suite)
    ET.ElementTree(suites).write(out / "junit.xml", encoding="utf-8", xml_declaration=True)


def _environment(runs: list[NodeRun]) -> str:
    lines = []
    for run in runs:
        gpus = run.summary.get("gpus") or []
        value = f"{len(gpus)} GPU(s) {', '.join(sorted(set(gpus)))}, driver {run.summary.get('driver', '?')}"
        lines.append(f"node.{run.node}={value if gpus else 'no NVML recorded'}, exit {run.exit}")
    return "\n".join(lines) + "\n"


def merge(results: Path, out: Path, history: Path | None = None) -> tuple[int, Path | None, list[NodeRun]]:
    """Merge the newest run of each node under ``results`` into ``out/<time>/``."""
    runs = node_runs(results)
    if not runs:
        return 5, None, runs
    folder = new_run_folder(out)
    allure = folder / "allure-results"
    allure.mkdir()
    nodes = folder / "nodes"
    nodes.mkdir()
    for run in runs:
        if run.folder is None:
            continue
        _allure(run, allure)
        profile = run.folder / "node-profile.yaml"
        if profile.is_file():
            shutil.copy2(profile, nodes / f"{run.node}.yaml")
    (allure / "environment.properties").write_text(_environment(runs), encoding="utf-8")
    if history is not None and (history / "history").is_dir():
        shutil.copytree(history / "history", allure / "history")
    _junit(runs, folder)
    table = ["| node | nightly | cases | GPUs, driver |", "|---|---|---|---|", *(r.line() for r in runs)]
    (folder / "summary.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    point_latest(out, folder)
    code = 0 if all(r.exit == 0 for r in runs) else 1
    return code, folder, runs
