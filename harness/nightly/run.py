"""The nightly run on one GPU node: smoke check, recording, the library on real NVML, a folder.

Everything lands in ``RESULTS/<node>/<time>/`` (``RESULTS/<node>/latest`` points at the newest),
so many nodes can share one volume and :mod:`harness.nightly.merge` can make one report of them:

- ``preflight.txt``: the smoke check (:mod:`harness.nightly.preflight`);
- ``node-profile.yaml``: the node as NVML reported it (``python -m fake_nvml record``), which CI
  replays as a simulated node (``--node RESULTS/<node>/latest/node-profile.yaml``);
- the run's reports: ``index.html`` and a folder per case, ``junit.xml``, ``allure-results/``;
- ``nightly.json``: node, exit status, counts, GPUs and driver, for the merge.

Exit status as ``dp-harness run``: 0 passed, 1 a case failed, 2 the environment cannot run (the
smoke check failed: no NVML, a library missing), 5 nothing ran.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from harness.nightly.preflight import Check, passed, run_checks

REPORTS = ("html", "junit", "allure")
EXIT_OK, EXIT_FAILED, EXIT_ENVIRONMENT, EXIT_NOTHING = 0, 1, 2, 5
NODE_ENV = "NODE_NAME"  # the manifests set it from the pod's spec.nodeName (the downward API)


def node_name(given: str | None = None) -> str:
    """The node's name as a folder name: ``--node-name``, else $NODE_NAME, else the host name."""
    raw = given or os.environ.get(NODE_ENV) or socket.gethostname()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._") or "node"


def _record() -> dict[str, Any] | None:
    import pynvml

    from fake_nvml import record_node

    try:
        return record_node(pynvml)
    except Exception:  # the smoke check said NVML answers; a recording that fails is not fatal
        return None


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def nightly(
    results: Path,
    scenarios: Path,
    *,
    node: str | None = None,
    workers: int = 1,
    skip_without_nvml: bool = False,
    keywords: str | None = None,
) -> int:
    """Run the nightly on this node into ``results/<node>/<time>/``; the exit status."""
    from harness.reports.folder import new_run_folder, point_latest

    name = node_name(node)
    base = results / name
    started = time.time()
    checks = run_checks(scenarios, base, nvml_required=not skip_without_nvml)
    for check in checks:
        print(check.line())
    summary: dict[str, Any] = {"node": name, "started": started, "scenarios": str(scenarios)}
    if not passed(checks):
        folder = new_run_folder(base)
        failed = [c for c in checks if not c.ok and c.required]
        stopped = {"exit": EXIT_ENVIRONMENT, "status": "stopped by the smoke check"}
        _finish(folder, checks, summary | stopped)
        point_latest(base, folder)
        print(f"nightly on {name}: stopped before any case: {failed[0].name}: {failed[0].detail}")
        return EXIT_ENVIRONMENT
    profile = _record() if _nvml_ok(checks) else None
    code, counts, folder = _run_library(base, scenarios, workers, skip_without_nvml, keywords)
    if profile is not None:
        from fake_nvml.record import write_profile

        write_profile(profile, folder / "node-profile.yaml", f"node {name}, recorded by the nightly run")
        summary |= {"driver": profile.get("driver_version"), "gpus": [g["product"] for g in profile["gpus"]]}
    _finish(folder, checks, summary | {"exit": code, "status": _status(code), "counts": counts})
    point_latest(base, folder)
    print(f"nightly on {name}: {_status(code)} (exit {code}); results in {folder}")
    return code


def _nvml_ok(checks: list[Check]) -> bool:
    return any(c.name == "nvml" and c.ok for c in checks)


def _status(code: int) -> str:
    return {EXIT_OK: "passed", EXIT_FAILED: "failed", EXIT_NOTHING: "nothing ran"}.get(code, "error")


def _finish(folder: Path, checks: list[Check], summary: dict[str, Any]) -> None:
    _write(folder, "preflight.txt", "\n".join(c.line() for c in checks) + "\n")
    summary["finished"] = time.time()
    _write(folder, "nightly.json", json.dumps(summary, indent=1))


def _run_library(
    base: Path, scenarios: Path, workers: int, skip_without_nvml: bool, keywords: str | None
) -> tuple[int, dict[str, int], Path]:
    """The library on real NVML, reported into a new run folder under ``base``."""
    from harness.collect import load_all
    from harness.keywords import compile_keywords
    from harness.options import RunOptions, rerun_args
    from harness.reports import ReportTarget, reporters_for
    from harness.reports.console import Console
    from harness.reports.folder import new_run_folder
    from harness.result import Status
    from harness.session import Session
    from harness.skips import nothing_ran

    options = RunOptions(nvml="real", skip_without_nvml=skip_without_nvml)
    loaded = load_all([scenarios])
    chosen = loaded.scenarios
    if keywords:
        match = compile_keywords(keywords)
        chosen = [s for s in chosen if match([s.id, s.path, *s.tags])]
    folder = new_run_folder(base)
    listeners = [Console(), *reporters_for(REPORTS, ReportTarget(folder))]
    rerun = ["dp-harness", "run", *rerun_args(options)]
    outcome = Session(options, listeners).run(chosen, workers, rerun)
    counts = outcome.count()
    skipped = [r.skip_reason for r in outcome.results if r.status == Status.SKIPPED]
    if loaded.errors:
        code = EXIT_ENVIRONMENT
    elif not outcome.ok:
        code = EXIT_FAILED
    elif len(skipped) == len(outcome.results):
        print(nothing_ran(skipped))
        code = EXIT_NOTHING
    else:
        code = EXIT_OK
    return code, {str(k): v for k, v in counts.items()}, folder
