"""Why our plugin and NVIDIA's v0.20.0 differ: every difference of a ``dp-harness diff`` run, named.

``python -m harness.diff.explain REPORT [--write docs/plugin.md]`` reads the report folder of a
``dp-harness diff --plugin-a ours ... --plugin-b <nvidia-device-plugin>`` run (its ``a/`` and
``b/`` case reports), compares the cases again with :mod:`harness.diff.compare`, names each
difference by the first :data:`CAUSES` rule that matches, and prints the markdown section
``docs/plugin.md`` keeps between its ``nvidia-diff`` markers (or writes it there). A difference
no rule names is listed as ``unexplained``: a new one, to be judged.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.diff.compare import Difference, compare
from harness.diff.trace import trace
from harness.result import Result

BEGIN = "<!-- BEGIN nvidia-diff (python -m harness.diff.explain REPORT --write docs/plugin.md) -->"
END = "<!-- END nvidia-diff -->"
VERDICTS = {
    "deliberate": "(a) deliberate",
    "fixed": "(b) bug in ours, fixed",
    "harness": "(c) harness artefact",
    "nvidia": "(d) NVIDIA bug",
}


@dataclass(frozen=True)
class Cause:
    key: str
    verdict: str  # a key of VERDICTS
    ours: str
    nvidia: str
    matches: Callable[[Difference], bool]


def _has(text: str) -> Callable[[Difference], bool]:
    return lambda d: text in d.b and text not in d.a


def _case(*stems: str) -> Callable[[Difference], bool]:
    return lambda d: d.case.split("[")[0] in stems


def _states(value: str) -> list[object] | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) else None


def _one_update_each(d: Difference) -> bool:
    """NVIDIA sent several device lists where ours sent one, ending in the same state."""
    if not d.aspect.startswith("devices "):
        return False
    many, one = _states(d.b), _states(d.a)
    return bool(many) and isinstance(many[0], list) and many[-1] == one  # type: ignore[index]


def _tokens(text: str) -> list[str]:
    return sorted(t for t in re.split(r'[\s,"\[\]{}:=]+', text) if t)


def _same_ids_reordered(d: Difference) -> bool:
    return not d.aspect.startswith("devices ") and d.a != d.b and _tokens(d.a) == _tokens(d.b)


_CHOICE = ("GetPreferredAllocation ", "Allocate ", "call GetPreferredAllocation")


def _other_device_hit(d: Difference) -> bool:
    """As many devices Unhealthy in both, but other ones: a fault aimed at the pod's device."""
    a, b = _states(d.a), _states(d.b)
    if not a or not b or isinstance(a[0], list) or isinstance(b[0], list):
        return False
    ids = [sorted(str(x).split()[0] for x in s) for s in (a, b)]
    sick = [sum("Unhealthy" in str(x) for x in s) for s in (a, b)]
    return ids[0] == ids[1] and sick[0] == sick[1] and a != b


def _choice(shared: bool) -> Callable[[Difference], bool]:
    def matches(d: Difference) -> bool:
        if not d.aspect.startswith(_CHOICE) and not (
            d.aspect.startswith("devices ") and _other_device_hit(d)
        ):
            return False
        replicas = any(m in d.a + d.b for m in ("::", "MIG-", "tegra"))
        return replicas == shared

    return matches


CAUSES: tuple[Cause, ...] = (
    Cause(
        "preferred-error-text",
        "fixed",
        "sent the allocator's error bare",
        "`error getting list of preferred allocation devices: <error>` (internal/plugin/server.go)",
        _has("error getting list of preferred allocation devices"),
    ),
    Cause(
        "shim-round-trips",
        "harness",
        "answers GetPreferredAllocation in milliseconds (once over 1 s: 2 CPUs shared by ~8 runs)",
        "go-gpuallocator reads every NVLink of every GPU on each call, one shim round trip each "
        "(1-3 ms on this loaded machine): over the kubelet's 1 s budget (5 s on the NVLink node) "
        "or its 10 s deadline",
        lambda d: any(
            m in d.a + d.b for m in ("response_time: GetPreferredAllocation", "deadline_exceeded", "Deadline")
        ),
    ),
    Cause(
        "xid-one-replica",
        "nvidia",
        "an XID marks every replica / every matching MIG device of the GPU",
        "one replica or one MIG device per GPU (issue #1929: `parentToDeviceMap` keeps one device per UUID)",
        _case("time-slicing-replicas-all-unhealthy", "mig-xid-scoped", "mig-xid-unattributed"),
    ),
    Cause(
        "health-before-serving",
        "deliberate",
        "a GPU whose event registration failed is Unhealthy in the first ListAndWatch answer",
        "lists it Healthy, then Unhealthy once its health goroutine (started after Register) fails",
        _case("register-failure-marks-gpu"),
    ),
    Cause(
        "kubelet-absent",
        "deliberate",
        "registers within milliseconds of kubelet.sock appearing",
        "its first Register is blocked in the kubelet's 10 s dial; registers 10.5-11 s after",
        _case("kubelet-absent-then-present"),
    ),
    Cause(
        "fail-on-init-mig",
        "deliberate",
        "`--fail-on-init-error=false` keeps running (serving nothing) after a refused MIG layout",
        "exits 1: its flag covers only nvml.Init",
        _case("single-error-without-fail-on-init"),
    ),
    Cause(
        "nvml-count-calls",
        "deliberate",
        "registers 2.0 s after its start when each nvmlDeviceGetCount takes 1 s (2 calls)",
        "3.1 s (3 calls before Register)",
        _case("slow-nvml-delays-registration"),
    ),
    Cause(
        "exit-code-2",
        "deliberate",
        "exit 2 for a bad flag, environment value or config file",
        "exit 1",
        lambda d: d.aspect == "plugin exit code" and (d.a, d.b) == ("2", "1"),
    ),
    Cause(
        "one-update",
        "deliberate",
        "one ListAndWatch update for the GPUs an event marks together",
        "one update per device",
        _one_update_each,
    ),
    Cause(
        "optional-nodes",
        "deliberate",
        "passes an optional device node only when it exists under --dev-root",
        "checks its own /dev (the world's has nvidia-modeset), passes the --dev-root path (absent there)",
        _has("nvidia-modeset"),
    ),
    Cause(
        "serial-registration",
        "harness",
        "registers every resource within ~20 ms",
        "registers one resource at a time, each after its NVML set-up through the shim: "
        "the case ended before the last",
        lambda d: d.aspect in ("register", "options") or (d.aspect.startswith("devices ") and d.b == "-"),
    ),
    Cause(
        "id-order",
        "deliberate",
        "IDs in the request's order",
        "index IDs of replicas (and their CDI names) in Go map order (`Devices().Subset(ids).GetIndices()`)",
        _same_ids_reordered,
    ),
    Cause(
        "replica-choice",
        "deliberate",
        "among replicas / MIG devices the policy ranks alike, the first in device order",
        "any of them: candidates from a Go map, sorted by the unstable sort.Slice",
        _choice(shared=True),
    ),
    Cause(
        "gpu-choice",
        "deliberate",
        "the highest-scoring set of whole GPUs, ties to the lowest indexes (gpu0 first)",
        "go-gpuallocator: the best partition of the kubelet's available list, ties to its order "
        "(the fake kubelet sorts IDs, so the first UUID; a real kubelet's is Go map order)",
        _choice(shared=False),
    ),
)
CONSEQUENCE = ("case", "step ran")  # a verdict and the steps a stopped run skipped follow from a cause


@dataclass
class Explained:
    case: str
    differences: list[tuple[Difference, str]]  # each with its cause key


def explain(cases: list[tuple[str, list[Difference]]]) -> list[Explained]:
    """Each difference named by the first matching cause; a verdict, or a step one run did not
    reach, by the first cause (in :data:`CAUSES` order) of the other differences of its case."""
    order = {c.key: i for i, c in enumerate(CAUSES)}
    out = []
    for case, diffs in cases:
        named = []
        for d in diffs:
            key = (
                ""
                if d.aspect in CONSEQUENCE
                else next((c.key for c in CAUSES if c.matches(d)), "unexplained")
            )
            named.append((d, key))
        found = sorted({k for _, k in named if k in order}, key=order.__getitem__)
        lead = found[0] if found else "unexplained"
        out.append(Explained(case, [(d, k or lead) for d, k in named]))
    return out


def _load(folder: Path) -> list[tuple[str, Result, Result]]:
    def result(path: Path) -> Result:
        data = json.loads((path / "result.json").read_text(encoding="utf-8"))
        data["events"] = json.loads((path / "events.json").read_text(encoding="utf-8"))
        return Result.from_dict(data)

    pairs = []
    for a in sorted((folder / "a").glob("*/result.json")):
        b = folder / "b" / a.parent.name
        pairs.append((a.parent.name, result(a.parent), result(b)))
    return pairs


def _cut(text: str, width: int = 90) -> str:
    text = " ".join(text.replace("|", "\\|").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def section(explained: list[Explained], tolerance: float, command: str) -> str:
    """The markdown between the markers: the figures, one row per cause, one row per case and cause."""
    differing = [e for e in explained if e.differences]
    total = sum(len(e.differences) for e in explained)
    lines = [
        BEGIN,
        "",
        f"{len(explained)} cases compared, {len(explained) - len(differing)} alike, {len(differing)} "
        f"differing ({total} differences, timing tolerance {tolerance:g} s). Reproduce:",
        "",
        "```sh",
        command,
        "```",
        "",
        "| cause | verdict | ours | NVIDIA v0.20.0 | cases | differences |",
        "|---|---|---|---|---|---|",
    ]
    by_key = {c.key: c for c in CAUSES}
    counts: dict[str, tuple[set[str], int]] = {}
    for e in explained:
        for _, key in e.differences:
            seen, n = counts.get(key, (set(), 0))
            counts[key] = (seen | {e.case}, n + 1)
    for key in [c.key for c in CAUSES] + ["unexplained"]:
        if key not in counts:
            continue
        cause = by_key.get(key)
        verdict = VERDICTS[cause.verdict] if cause else "to judge"
        ours, theirs = (cause.ours, cause.nvidia) if cause else ("", "")
        seen, n = counts[key]
        lines.append(f"| `{key}` | {verdict} | {ours} | {theirs} | {len(seen)} | {n} |")
    lines += [
        "",
        "Every difference, by case and cause (the first one shown; `+n` more of that cause in the case):",
        "",
        "| case | where | what | ours | NVIDIA | cause |",
        "|---|---|---|---|---|---|",
    ]
    for e in differing:
        groups: dict[str, list[Difference]] = {}
        for d, key in e.differences:
            groups.setdefault(key, []).append(d)
        for key, diffs in groups.items():
            first = diffs[0]
            more = f" +{len(diffs) - 1}" if len(diffs) > 1 else ""
            what = ", ".join(dict.fromkeys(d.aspect for d in diffs))
            lines.append(
                f"| `{e.case}` | {_cut(first.step, 40)} | {_cut(what, 60)} | {_cut(first.a)} | "
                f"{_cut(first.b)} | `{key}`{more} |"
            )
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.diff.explain", description=__doc__)
    parser.add_argument("report", type=Path, help="a dp-harness diff run's report folder (with a/ and b/)")
    parser.add_argument("--tolerance", type=float, default=1.0, help="timing tolerance in seconds (1)")
    parser.add_argument("--command", default="dp-harness diff ...", help="the command that made the report")
    parser.add_argument("--write", type=Path, default=None, help="replace the section in this file")
    args = parser.parse_args(argv)
    cases = [(a.id, compare(a.id, trace(a), trace(b), args.tolerance)) for _, a, b in _load(args.report)]
    text = section(explain(cases), args.tolerance, args.command)
    if args.write is None:
        print(text)
        return 0
    doc = args.write.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        print(f"{args.write}: no {BEGIN!r} … {END!r} markers", file=sys.stderr)
        return 2
    head, rest = doc.split(BEGIN, 1)
    args.write.write_text(head + text + rest.split(END, 1)[1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
