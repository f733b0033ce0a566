"""``dp-harness nightly``: the nightly run on real GPU nodes (the harness image's entrypoint).

    dp-harness nightly run [--results /results] [--node-name NAME] [-n auto]   # this node, real NVML
    dp-harness nightly preflight [--skip-without-nvml]    # the image's smoke check, one line a check
    dp-harness nightly jobs deploy/nightly-fleet.yaml --node gpu-a --node gpu-b   # a Job per node
    dp-harness nightly merge /results [-o /results/_fleet] [--history allure-report]  # one report

docs/nightly.md says how they fit together on a cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.cli.common import EXIT_NOTHING, EXIT_OK, UsageError, output_folder, workers

DEFAULT_RESULTS = "/results"
DEFAULT_SCENARIOS = "scenarios"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="nightly", required=True, metavar="STEP")
    run = sub.add_parser("run", help="this node's nightly: smoke check, recording, the library on real NVML")
    run.add_argument(
        "--results", default=DEFAULT_RESULTS, help=f"where node folders go (default {DEFAULT_RESULTS})"
    )
    run.add_argument(
        "--node-name", default=None, help="the node's folder name (default: $NODE_NAME, else the host)"
    )
    run.add_argument(
        "--scenarios", default=DEFAULT_SCENARIOS, help="the scenario library (default: scenarios)"
    )
    run.add_argument("-k", dest="keywords", default=None, help="select by id/path/tag, as dp-harness run")
    run.add_argument("-n", dest="workers", type=workers, default=1, metavar="N", help="processes ('auto')")
    run.add_argument(
        "--skip-without-nvml",
        action="store_true",
        help="without usable NVML, skip every case instead of stopping (the run still exits 5)",
    )
    pre = sub.add_parser("preflight", help="check that this environment carries what a nightly run needs")
    pre.add_argument(
        "--scenarios", default=DEFAULT_SCENARIOS, help="the scenario library (default: scenarios)"
    )
    pre.add_argument("--results", default=None, help="also check that this folder is writable")
    pre.add_argument(
        "--skip-without-nvml", action="store_true", help="NVML may be missing (an image check in CI)"
    )
    jobs = sub.add_parser("jobs", help="print the fleet Job once per named node, pinned by node affinity")
    jobs.add_argument("template", help="a manifest with one Job (deploy/nightly-fleet.yaml)")
    jobs.add_argument("--node", action="append", default=[], help="a node name (repeatable)")
    jobs.add_argument(
        "--nodes-from",
        default=None,
        help="a file of node names, as 'kubectl get nodes -o name' prints them ('-': stdin)",
    )
    merge = sub.add_parser("merge", help="merge the newest run of every node folder into one report")
    merge.add_argument("results", help="the folder that holds one folder per node")
    merge.add_argument(
        "-o", dest="out", default=None, help="where the merged report goes (default: RESULTS/_fleet)"
    )
    merge.add_argument("--history", default=None, help="a generated allure report whose history/ to carry on")


def main(args: argparse.Namespace) -> int:
    step: int = {"run": _run, "preflight": _preflight, "jobs": _jobs, "merge": _merge}[args.nightly](args)
    return step


def _run(args: argparse.Namespace) -> int:
    from harness.nightly.run import nightly
    from harness.options import quiet_grpc

    quiet_grpc()
    results = output_folder(args.results, "--results")
    if not Path(args.scenarios).is_dir():
        raise UsageError(f"--scenarios {args.scenarios!r} is not a folder (the scenario library)")
    return nightly(
        results,
        Path(args.scenarios),
        node=args.node_name,
        workers=args.workers,
        skip_without_nvml=args.skip_without_nvml,
        keywords=args.keywords,
    )


def _preflight(args: argparse.Namespace) -> int:
    from harness.nightly.preflight import passed, run_checks

    results = Path(args.results) if args.results else None
    checks = run_checks(Path(args.scenarios), results, nvml_required=not args.skip_without_nvml)
    for check in checks:
        print(check.line())
    ok = passed(checks)
    print(
        "preflight: " + ("everything a nightly run needs is here" if ok else "this environment cannot run it")
    )
    return EXIT_OK if ok else 1


def _jobs(args: argparse.Namespace) -> int:
    from harness.nightly.jobs import JobsError, nodes_from, per_node, render, template_job

    names = list(args.node)
    if args.nodes_from:
        try:
            text = sys.stdin.read() if args.nodes_from == "-" else Path(args.nodes_from).read_text()
        except OSError as exc:
            raise UsageError(f"--nodes-from {args.nodes_from}: {exc.strerror}") from None
        names += nodes_from(text.splitlines())
    if not names:
        raise UsageError("nightly jobs: name the nodes with --node NAME or --nodes-from FILE")
    try:
        print(render(per_node(template_job(Path(args.template)), names)), end="")
    except JobsError as exc:
        raise UsageError(str(exc)) from None
    return EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from harness.nightly.merge import OUT_DEFAULT, merge

    results = Path(args.results)
    if not results.is_dir():
        raise UsageError(f"nightly merge: {results} is not a folder")
    out = Path(args.out) if args.out else results / OUT_DEFAULT
    code, folder, runs = merge(results, out, Path(args.history) if args.history else None)
    if folder is None:
        print(f"nightly merge: no node folders under {results}; nothing merged")
        return EXIT_NOTHING
    print((folder / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"merged {len(runs)} nodes into {folder} (allure generate {folder / 'allure-results'})")
    return code
