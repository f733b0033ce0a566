"""``python -m harness``: run, validate and show scenarios; print the language reference.

    python -m harness run scenarios/ [-k EXPR] [-n N] [--nvml sim|real] [--plugin-cmd CMD]
    python -m harness validate scenarios/
    python -m harness show scenarios/health/xid-fatal-marks-unhealthy.yaml [--case 79]
    python -m harness schema            # the reference tables of docs/scenarios.md
    python -m harness conformance       # the coverage table of docs/conformance.md

Exit status: 0 all passed (or skipped), 1 a scenario failed, 2 a scenario file is invalid.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from harness.collect import load_all
from harness.keywords import KeywordError, compile_keywords
from harness.model.scenario import Scenario, load
from harness.options import (
    NVML_CHOICES,
    NVML_HELP,
    PLUGIN_CMD_HELP,
    PLUGIN_IMAGE_HELP,
    PLUGIN_MANIFEST_HELP,
)
from harness.result import Result, Status
from harness.runner import RunOptions, run_scenario

MARK = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.SKIPPED: "SKIP"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description="GPU device plugin scenarios")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--nvml", choices=NVML_CHOICES, default="sim", help=NVML_HELP)
    common.add_argument("--plugin-cmd", default=None, help=PLUGIN_CMD_HELP)
    common.add_argument("--plugin-image", default=None, help=PLUGIN_IMAGE_HELP)
    common.add_argument("--plugin-manifest", default=None, help=PLUGIN_MANIFEST_HELP)
    run = sub.add_parser("run", parents=[common], help="run scenarios and write reports")
    run.add_argument("paths", nargs="+", help="scenario files or folders")
    run.add_argument("-k", dest="keywords", default=None, help="select by id/path/tag: 'xid and not 79'")
    run.add_argument("-n", dest="workers", type=int, default=1, help="run in N processes")
    run.add_argument(
        "--reports-dir", default="reports", help="where reports go (default: reports/; '' for none)"
    )
    run.add_argument("--no-reports", action="store_true", help="write no report files")
    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("paths", nargs="+")
    show = sub.add_parser("show", parents=[common], help="run one scenario and print its timeline")
    show.add_argument("scenario", help="a scenario file")
    show.add_argument("--case", default=None, help="which matrix case (default: the first)")
    sub.add_parser("schema", help="print the language reference (markdown)")
    conformance = sub.add_parser(
        "conformance", help="print the coverage table of docs/conformance.md (markdown)"
    )
    conformance.add_argument("paths", nargs="*", default=["scenarios"])
    return parser


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        nvml=args.nvml,
        plugin_cmd=args.plugin_cmd,
        plugin_image=args.plugin_image,
        plugin_manifest=args.plugin_manifest,
    )


def _select(scenarios: list[Scenario], keywords: str | None) -> list[Scenario]:
    if not keywords:
        return scenarios
    match = compile_keywords(keywords)
    return [s for s in scenarios if match([s.id, s.path, *s.tags])]


def _run_one(path: str, case: str, options: RunOptions, reports: str | None) -> Result:
    """Worker entry point (also used in-process): load the case, run it, write its report."""
    scenario = next(s for s in load(path) if s.case == case)
    result = run_scenario(scenario, options)
    if reports:
        from harness.reports import write_case

        write_case(Path(reports), result)
    return result


def _line(result: Result) -> str:
    return f"{MARK[result.status]:<5} {result.id:<50} {result.duration_s * 1000:7.0f} ms"


def _summary(results: list[Result], wall: float) -> str:
    width = max([len(r.id) for r in results] + [8])
    lines = ["", f"{'result':<7} {'scenario':<{width}} {'time':>9}  why", "-" * (width + 30)]
    for r in sorted(results, key=lambda r: (r.status == Status.PASSED, r.path, r.id)):
        why = r.skip_reason if r.status == Status.SKIPPED else (r.failure.message if r.failure else "")
        lines.append(f"{MARK[r.status]:<7} {r.id:<{width}} {r.duration_s * 1000:7.0f}ms  {why[:90]}")
    counts = {s: sum(r.status == s for r in results) for s in MARK}
    lines.append("")
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" in {wall:.2f}s")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    loaded = load_all(args.paths)
    for error in loaded.errors:
        print(error, file=sys.stderr)
        print(file=sys.stderr)
    try:
        scenarios = _select(loaded.scenarios, args.keywords)
    except KeywordError as exc:
        print(exc, file=sys.stderr)
        return 2
    options = _options(args)
    # An empty --reports-dir means no reports, as the pytest option does (never the current dir).
    reports = None if args.no_reports or not args.reports_dir else Path(args.reports_dir)
    if reports is not None:
        from harness.reports.write import clear_cases

        if reports.exists():
            clear_cases(reports)  # an earlier run's cases would mix into the index
        reports.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results: list[Result] = []
    target = str(reports) if reports else None
    if args.workers > 1 and len(scenarios) > 1:
        context = multiprocessing.get_context("spawn")  # no fork of gRPC threads
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            futures = [pool.submit(_run_one, s.path, s.case, options, target) for s in scenarios]
            for future in as_completed(futures):
                results.append(future.result())
                print(_line(results[-1]), flush=True)
    else:
        for s in scenarios:
            results.append(_run_one(s.path, s.case, options, target))
            print(_line(results[-1]), flush=True)
    wall = time.perf_counter() - start
    for r in results:
        if r.status in (Status.FAILED, Status.ERROR):
            print("\n" + r.report(), file=sys.stderr)
    print(_summary(results, wall))
    if reports is not None:
        from harness.reports import write_index, write_junit
        from harness.reports.allure import write_allure

        write_junit(reports / "junit.xml", results)
        for r in results:
            write_allure(reports / "allure-results", r)
        print(f"reports: {write_index(reports, results)}")
    if loaded.errors:
        return 2
    return 0 if all(r.ok for r in results) else 1


def cmd_validate(args: argparse.Namespace) -> int:
    loaded = load_all(args.paths)
    for error in loaded.errors:
        print(error, file=sys.stderr)
        print(file=sys.stderr)
    files = len({s.path for s in loaded.scenarios})
    print(f"{files} scenario files valid ({len(loaded.scenarios)} cases), {len(loaded.errors)} invalid")
    return 2 if loaded.errors else 0


def cmd_show(args: argparse.Namespace) -> int:
    from harness.reports.text import render_text
    from harness.reports.timeline import build_timeline

    cases = load(args.scenario)
    chosen = [c for c in cases if args.case is None or c.case == args.case]
    if not chosen:
        print(f"no case {args.case!r}; cases: {', '.join(c.case for c in cases)}", file=sys.stderr)
        return 2
    scenario = chosen[0]
    if len(cases) > 1 and args.case is None:
        print(f"(showing case {scenario.case!r}; others: {', '.join(c.case for c in cases[1:])})")
    print(f"{scenario.id}: {scenario.description}\n")

    def step_done(step: object) -> None:
        print(f"  {MARK[step.status]:<5} {step.title}")  # type: ignore[attr-defined]

    result = run_scenario(scenario, _options(args), on_step=step_done)
    print()
    print(render_text(build_timeline(result.events, result.gpus)))
    print()
    print(result.report() if not result.status == Status.PASSED else f"{scenario.id}: passed")
    return 0 if result.ok else 1


def cmd_conformance(args: argparse.Namespace) -> int:
    from harness.conformance import render

    loaded = load_all(args.paths)
    for error in loaded.errors:
        print(error, file=sys.stderr)
    print(render(loaded.scenarios, Path.cwd()), end="")
    return 2 if loaded.errors else 0


def main(argv: list[str] | None = None) -> int:
    from harness.errors import ScenarioError
    from harness.limits import LimitError

    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "show":
            return cmd_show(args)
        if args.command == "conformance":
            return cmd_conformance(args)
        from harness.docs import reference

        print(reference())
        return 0
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    except LimitError as exc:
        print(f"python -m harness: {exc}", file=sys.stderr)
        return 2
