"""pytest plugin: every ``scenarios/**/*.yaml`` case is a test item.

Registered by the entry point ``harness.pytest_plugin`` (pytest11) and by the root
``conftest.py`` (same name, so it is not registered twice). Files under a folder named
``scenarios`` are collected, except fragments (``_*.yaml`` or inside ``_*/``). Items are
named after the file and the matrix case (``xid-fatal[79]``); scenario tags become markers
(``-`` becomes ``_``), registered on the fly so ``--strict-markers`` accepts them.

Options: ``--nvml sim|real``, ``--plugin-cmd CMD``, ``--reports-dir DIR`` (default
``<rootdir>/reports``; ``--reports-dir ''`` writes none). With allure-pytest active, each
scenario step is an allure step and the timeline, events and plugin log are attached.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.limits import LimitError
from harness.options import (
    NVML_CHOICES,
    NVML_HELP,
    PLUGIN_CMD_HELP,
    PLUGIN_IMAGE_HELP,
    PLUGIN_MANIFEST_HELP,
)
from harness.result import Result, Status

SESSION_ENV = "HARNESS_REPORT_SESSION"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scenarios", "GPU device plugin scenarios (harness)")
    group.addoption("--nvml", choices=NVML_CHOICES, default="sim", help=NVML_HELP)
    group.addoption("--plugin-cmd", default=None, help=PLUGIN_CMD_HELP)
    group.addoption("--plugin-image", default=None, help=PLUGIN_IMAGE_HELP)
    group.addoption("--plugin-manifest", default=None, help=PLUGIN_MANIFEST_HELP)
    group.addoption(
        "--reports-dir",
        default=None,
        help="where scenario reports go (default: <rootdir>/reports; '' for none)",
    )


def _reports_dir(config: pytest.Config) -> Path | None:
    value = config.getoption("--reports-dir")
    if value == "":
        return None
    return Path(value) if value is not None else config.rootpath / "reports"


def _is_master(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    if _is_master(config):
        os.environ[SESSION_ENV] = uuid.uuid4().hex  # xdist workers inherit it


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml") or "scenarios" not in file_path.parts[:-1]:
        return None
    below = file_path.parts[len(file_path.parts) - file_path.parts[::-1].index("scenarios") :]
    if any(part.startswith("_") for part in below):
        return None  # a fragment for include:
    return ScenarioFile.from_parent(parent, path=file_path)


def _marker(tag: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in tag)


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        from harness.model.scenario import load

        for scenario in load(self.path):
            item = ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)
            for tag in scenario.tags:
                name = _marker(tag)
                if name not in self.config._harness_markers:  # type: ignore[attr-defined]
                    self.config.addinivalue_line("markers", f"{name}: scenario tag '{tag}'")
                    self.config._harness_markers.add(name)  # type: ignore[attr-defined]
                item.add_marker(name)
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioError | LimitError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._harness_markers = set()  # type: ignore[attr-defined]


class ScenarioFailed(AssertionError):
    def __init__(self, result: Result) -> None:
        super().__init__(result.report())
        self.result = result


def _allure() -> Any:
    try:
        import allure
    except ImportError:
        return None
    return allure


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: Result | None = None

    def runtest(self) -> None:
        from harness.runner import RunOptions, run_scenario

        options = RunOptions(
            nvml=self.config.getoption("--nvml"),
            plugin_cmd=self.config.getoption("--plugin-cmd"),
            plugin_image=self.config.getoption("--plugin-image"),
            plugin_manifest=self.config.getoption("--plugin-manifest"),
        )
        allure = _allure() if self.config.pluginmanager.hasplugin("allure_pytest") else None

        def around(call: Any) -> contextlib.AbstractContextManager[Any]:
            return allure.step(call.title()) if allure is not None else contextlib.nullcontext()

        result = run_scenario(self.scenario, options, around_step=around if allure else None)
        self.result = result
        reports = _reports_dir(self.config)
        if reports is not None:
            from harness.reports import write_case

            folder = write_case(reports, result)
            summary = json.loads((folder / "result.json").read_text(encoding="utf-8"))
            summary["session"] = os.environ.get(SESSION_ENV, "")
            (folder / "result.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
        if allure is not None:
            self._attach(allure, result)
        if result.status == Status.SKIPPED:
            pytest.skip(result.skip_reason)
        if result.status != Status.PASSED:
            raise ScenarioFailed(result)

    def _attach(self, allure: Any, result: Result) -> None:
        from harness.reports.svg import render_svg
        from harness.reports.timeline import build_timeline

        allure.dynamic.description(self.scenario.description)
        svg = render_svg(build_timeline(result.events, result.gpus), result.id)
        allure.attach(svg, name="timeline", attachment_type=allure.attachment_type.SVG)
        allure.attach(
            json.dumps(result.events, indent=1, default=str),
            name="events",
            attachment_type=allure.attachment_type.JSON,
        )
        lines = [
            e["data"].get("line", "") for e in result.events if e["source"] == "plugin" and e["kind"] == "log"
        ]
        allure.attach("\n".join(lines), name="plugin log", attachment_type=allure.attachment_type.TEXT)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.loc.line - 1, f"scenario: {self.name}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    reports = _reports_dir(config)
    if not _is_master(config) or reports is None or not reports.is_dir():
        return
    from harness.reports import write_index

    token = os.environ.get(SESSION_ENV, "")
    # Only this session's cases: folders of earlier (or concurrent) runs are left alone.
    current = [r for r, session in _results_with_session(reports) if session == token]
    if current:
        write_index(reports, current)


def _results_with_session(reports: Path) -> list[tuple[Result, str | None]]:
    out = []
    for path in sorted(reports.glob("*/result.json")):
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = json.loads(path.read_text(encoding="utf-8"))
            session = data.get("session")
            data["events"] = []
            out.append((Result.from_dict(data), session))
    return out
