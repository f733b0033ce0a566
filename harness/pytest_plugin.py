"""pytest plugin: scenario cases as test items, for projects that ask for them.

Registered by the entry point ``harness.pytest_plugin`` (pytest11) in every pytest session of
the environment, so it does nothing unless asked. YAML files are collected as scenarios only
under the ini setting ``harness_paths`` (or ``--harness-paths PATH``), or when a YAML file is
named on the command line; fragments (``_*.yaml``, anything under ``_*/``) never are. Items
are named after the file and the matrix case (``xid-fatal[79]``).

Scenario tags become markers (``-`` becomes ``_``), registered when pytest configures, so
``pytest --markers`` lists them and ``--strict-markers`` accepts them. The run options of
:mod:`harness.options` are flags (``--nvml``, ``--plugin-cmd``, ``--launcher``) and ini
settings (``harness_nvml`` ...). Reports are written only when asked for (``--reports-dir``
or ``harness_reports_dir``), by listeners on a harness Session in the controlling process;
with allure-pytest active, each scenario step is an allure step with the timeline, events and
plugin log attached. gRPC's C-core log is quiet unless ``--grpc-log``.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import interrupts
from harness.errors import ScenarioError
from harness.limits import LimitError
from harness.listeners import Listener
from harness.options import (
    GRPC_LOG_HELP,
    OPTIONS,
    Option,
    OptionError,
    RunOptions,
    quiet_grpc,
    rerun_args,
    run_options,
)
from harness.result import Result, Status

SUFFIXES = (".yaml", ".yml")
RESULT_KEY = "harness_result"  # the case's Result, sent with its report to the controlling process
_ROOTS = pytest.StashKey[list[Path]]()
_OPTIONS = pytest.StashKey[RunOptions]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scenarios", "GPU device plugin scenarios (harness)")
    for option in OPTIONS:
        if option.boolean:
            group.addoption(option.flag, action="store_true", default=False, help=option.help)
            parser.addini(option.ini, f"{option.flag} by default: {option.help}", type="bool", default=False)
            continue
        group.addoption(option.flag, default=None, help=option.help)
        parser.addini(option.ini, f"default of {option.flag}: {option.help}", default=None)
    group.addoption(
        "--harness-paths",
        action="append",
        default=[],
        metavar="PATH",
        help="also collect the scenario files under PATH (like the harness_paths ini setting)",
    )
    parser.addini(
        "harness_paths", "folders or files whose YAML files are scenarios", type="paths", default=[]
    )
    group.addoption("--reports-dir", default=None, help="write HTML scenario reports under this folder")
    parser.addini("harness_reports_dir", "write HTML scenario reports under this folder", default=None)
    group.addoption("--grpc-log", action="store_true", default=False, help=GRPC_LOG_HELP)


# -- what is collected --------------------------------------------------------------------------
def scenario_roots(config: pytest.Config) -> list[Path]:
    """Where scenario files are: the ini's harness_paths, --harness-paths, YAML files named on the
    command line. A folder named on the command line does not opt in (``pytest tests/`` must not
    read a project's YAML fixtures as scenarios)."""
    roots = [Path(p) for p in config.getini("harness_paths")]
    roots += [Path(p).resolve() for p in config.getoption("--harness-paths")]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path = Path(arg.split("::")[0])
            if path.suffix in SUFFIXES:
                roots.append(path.resolve())
    return roots


def _is_scenario(file_path: Path, roots: list[Path]) -> bool:
    if file_path.suffix not in SUFFIXES:
        return False
    for root in roots:
        if file_path == root or root in file_path.parents:
            below = file_path.relative_to(root).parts
            return not any(part.startswith("_") for part in below)  # a fragment for include:
    return False


def marker_name(tag: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in tag)


def _tags(roots: list[Path]) -> dict[str, int]:
    """Every tag of the scenario files under ``roots`` (after include and matrix), with a case count."""
    from harness.collect import scenario_files
    from harness.model.compose import compose

    counts: dict[str, int] = {}
    files: list[Path] = []
    for root in roots:
        try:
            files += scenario_files([root]) if root.exists() else []
        except ScenarioError:
            continue  # a root with no scenario files adds no tags
    for file in files:
        try:
            cases = compose(file)
        except ScenarioError:
            continue  # reported when the file is collected
        for case in cases:
            node = case.tree.get("tags")
            for tag in node.value if node is not None and node.is_seq else []:
                counts[str(tag.value)] = counts.get(str(tag.value), 0) + 1
    return counts


def _option_value(config: pytest.Config, option: Option) -> str | bool | None:
    """The flag's value when given (an empty one too, which run_options refuses), else the ini's."""
    value = config.getoption(option.flag)
    if value is None or value is False:
        return config.getini(option.ini) or None
    return value  # type: ignore[no-any-return]


def pytest_configure(config: pytest.Config) -> None:
    roots = scenario_roots(config)
    config.stash[_ROOTS] = roots
    if not roots:
        return  # not a harness session: leave it alone
    quiet_grpc(config.getoption("--grpc-log"))
    if threading.current_thread() is threading.main_thread():
        # SIGTERM unwinds the cases as Ctrl-C does (pytest keeps its own Ctrl-C handling).
        interrupts.install((signal.SIGTERM,))
    try:
        config.stash[_OPTIONS] = run_options({o.field: _option_value(config, o) for o in OPTIONS})
        from harness.runner import check_run

        check_run(config.stash[_OPTIONS])  # a bad --plugin-profile or --node stops the session here
    except OptionError as exc:
        raise pytest.UsageError(str(exc)) from None
    for tag, n in sorted(_tags(roots).items()):
        config.addinivalue_line("markers", f"{marker_name(tag)}: scenario tag '{tag}' ({n} cases)")
    if not hasattr(config, "workerinput"):  # the controlling process hears every case
        config.pluginmanager.register(CaseCounter(), "harness-case-counter")
        reports = config.getoption("--reports-dir") or config.getini("harness_reports_dir")
        if reports:
            config.pluginmanager.register(_ReportSession(config, Path(reports)), "harness-reports")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario(file_path, parent.config.stash.get(_ROOTS, [])):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[ScenarioItem]:
        from harness.model.scenario import load

        for scenario in load(self.path):
            item = ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)
            for tag in scenario.tags:
                item.add_marker(marker_name(tag))
            yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioError | LimitError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class ScenarioFailed(AssertionError):
    """An expectation of the scenario did not hold (allure: failed)."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.report())
        self.result = result


class ScenarioBroke(Exception):
    """The scenario could not run as written, or a part broke (Status.ERROR; allure: broken)."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.report())
        self.result = result


# -- running one item -----------------------------------------------------------------------------
def _allure_steps(config: pytest.Config) -> Listener | None:
    if not config.pluginmanager.hasplugin("allure_pytest"):
        return None
    from harness.reports.allure import AllureSteps

    return AllureSteps.if_available()


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: Result | None = None

    def runtest(self) -> None:
        from harness.runner import run_scenario

        options = self.config.stash.get(_OPTIONS, RunOptions())
        steps = _allure_steps(self.config)
        result = run_scenario(self.scenario, options, steps)
        self.result = result
        if steps is not None:
            steps.case_finished(result)  # description, labels and attachments
        if result.status == Status.SKIPPED:
            raise pytest.skip.Exception(result.skip_reason, _use_item_location=True)
        if result.status == Status.FAILED:
            raise ScenarioFailed(result)
        if result.status == Status.ERROR:
            raise ScenarioBroke(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed | ScenarioBroke):
            options = self.config.stash.get(_OPTIONS, RunOptions())
            rerun = " ".join(["pytest", repr(self.nodeid), *rerun_args(options)])
            return f"{excinfo.value}\nrerun: {rerun}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.loc.line - 1, f"scenario: {self.name}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call" and isinstance(item, ScenarioItem) and item.result is not None:
        if item.config.pluginmanager.has_plugin("harness-reports") or hasattr(item.config, "workerinput"):
            # Plain JSON data, so pytest-xdist can carry it to the controlling process.
            setattr(report, RESULT_KEY, json.loads(item.result.to_json()))
    return report


# -- the controlling process: a harness Session whose listeners write the reports ---------------
class _ReportSession:
    """A pytest plugin that feeds each scenario's report into a harness Session."""

    def __init__(self, config: pytest.Config, base: Path) -> None:
        from harness.reports import ReportTarget, reporters_for
        from harness.reports.folder import new_run_folder
        from harness.session import Session

        self.base = base if base.is_absolute() else config.rootpath / base
        self.folder = new_run_folder(self.base)
        target = ReportTarget(self.folder)
        self.session = Session(config.stash.get(_OPTIONS, RunOptions()), reporters_for(["html"], target))
        self.session.start(_plan(config))
        self.any = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, RESULT_KEY, None)
        if report.when == "call" and data is not None:
            self.session.record(Result.from_dict(data))
            self.any = True

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from harness.reports.folder import point_latest

        if not self.any:  # nothing ran: leave no empty run folder, touch no earlier one
            if not any(self.folder.iterdir()):
                self.folder.rmdir()
            return
        self.session.finish()
        point_latest(self.base, self.folder)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.any:
            terminalreporter.write_line(f"scenario reports: {self.folder / 'index.html'}")


def _plan(config: pytest.Config) -> Any:
    from harness.listeners import Plan

    return Plan([], workers=int(getattr(config.option, "numprocesses", 0) or 1), rerun=["pytest"])


class CaseCounter:
    """Listens to test reports: how many scenario cases ran, and why the others were skipped.

    A session in which every scenario case was skipped and no other test ran exits 5 (pytest's
    "no tests ran"), with one line saying why, as ``dp-harness run`` does: a nightly run whose
    pod had no NVML must not pass.
    """

    def __init__(self) -> None:
        self.ran = 0
        self.others = 0  # tests that are not scenario cases and ran
        self.skips: list[str] = []
        self.verdict = ""

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if "scenario: " not in str(report.location[2]):
            self.others += report.when == "call"
            return
        if report.skipped and isinstance(report.longrepr, tuple):
            self.skips.append(str(report.longrepr[2]).removeprefix("Skipped: "))
        elif report.when == "call":
            self.ran += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from harness.skips import nothing_ran

        if self.skips and not self.ran and not self.others and exitstatus == pytest.ExitCode.OK:
            self.verdict = nothing_ran(self.skips)
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from harness.skips import summary_lines

        if not self.skips and not self.ran:
            return
        terminalreporter.section("scenario cases", sep="-")
        for line in summary_lines(self.ran, self.skips):
            terminalreporter.write_line(line)
        if self.verdict:
            terminalreporter.write_line(self.verdict, red=True, bold=True)
