"""Benchmark of bad input: how long each broken file or command line takes to be answered.

Issue 13's promise: every bad input gets a one-line, located answer within 10 s (30 s for a 5 MB
file), with no traceback and no hang. This runs ``python -m harness validate`` (or the given
command) as a user would, one process per input, and prints the wall time, the exit status and
the first line of the answer; it flags any answer that is slow, a traceback or not exit 2.

Inputs: every file of ``tests/harness/broken/``, plus generated ones too big to commit (a valid
5 MB scenario, which must pass, and the same with an error on its last line); every bad command
line of ``tests/harness/test_bad_flags.py`` (``dp-harness ...``, run in its own folder of files),
and a few of the plugin's (``python -m plugin ...``). Each row shows the wall time and the CPU
time of its process: on a busy machine the wall time is mostly waiting for a core.

    python benchmarks/bench_bad_input.py [--only PATTERN] [--size-mb 5]
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "harness" / "broken"
STEP = "  - expect: {registered: true, allocatable: 4, health: {all: Healthy}, within: 2s}\n"


def big_file(folder: Path, megabytes: float, broken: bool) -> Path:
    """A scenario of ``megabytes`` of steps (the last one misspelt when ``broken``)."""
    path = folder / f"big-{megabytes:g}mb{'-broken' if broken else ''}.yaml"
    count = int(megabytes * 1_000_000 / len(STEP))
    text = "description: a very long scenario\nsteps:\n" + STEP * count
    if broken:
        text += "  - expct: {registered: true}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def answer(argv: list[str], limit_s: float, cwd: Path = ROOT) -> tuple[float, float, int, str, bool, int]:
    """Wall time, CPU time, exit status, first line, whether a traceback showed, stderr lines."""
    start, cpu = time.perf_counter(), _children_cpu()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=limit_s * 3, cwd=cwd, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, _children_cpu() - cpu, -1, "(no answer: killed)", True, 0
    wall = time.perf_counter() - start
    first = (proc.stderr or proc.stdout).strip().splitlines()[:1]
    lines = len([line for line in proc.stderr.splitlines() if line.strip()])
    traceback = "Traceback" in proc.stderr + proc.stdout
    return wall, _children_cpu() - cpu, proc.returncode, first[0] if first else "", traceback, lines


def command_lines(folder: Path) -> list[tuple[str, list[str], float, int, bool]]:
    """The rows of tests/harness/test_bad_flags.py, and the plugin's own bad flags."""
    spec = importlib.util.spec_from_file_location(
        "bad_flags", ROOT / "tests" / "harness" / "test_bad_flags.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_folder(folder)
    python = sys.executable
    rows = [
        (f"cli:{name}", [python, "-m", "harness", *(a.format(d=folder) for a in argv)], 10.0, 2, True)
        for name, argv, _ in module.BAD
    ]
    plugin = [python, "-m", "plugin", "--nvml", "sim:2xH100", "--kubelet-socket", ""]
    long_dir = folder / ("x" * 110)
    long_dir.mkdir()
    rows += [
        (f"plugin:{name}", [*plugin, *flags], 10.0, 2, True)
        for name, flags in (
            ("socket-dir-is-a-file", ["--socket-dir", str(folder / "afile")]),
            ("socket-dir-missing", ["--socket-dir", str(folder / "nope")]),
            ("socket-path-too-long", ["--socket-dir", str(long_dir)]),
            ("unknown-flag", ["--frob"]),
            ("bad-mig-strategy", ["--mig-strategy", "maybe"]),
            ("config-missing", ["--config-file", str(folder / "nope.yaml")]),
            ("config-bad-yaml", ["--config-file", str(folder / "bad-manifest.yaml")]),
        )
    ]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="*", help="glob on the input's name")
    parser.add_argument("--size-mb", type=float, default=5.0, help="size of the generated large file")
    args = parser.parse_args()
    python = sys.executable
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-bad", dir="/tmp") as tmp:
        inputs: list[tuple[str, list[str], float, int, bool]] = [
            (p.name, [python, "-m", "harness", "validate", str(p)], 10.0, 2, False)
            for p in sorted(BROKEN.glob("*.yaml"))
            if not p.name.startswith("_")
        ]
        for broken in (False, True):
            path = big_file(Path(tmp), args.size_mb, broken)
            inputs.append(
                (path.name, [python, "-m", "harness", "validate", str(path)], 30.0, 2 if broken else 0, False)
            )
        folder = Path(tmp) / "flags"
        folder.mkdir()
        inputs += command_lines(folder)
        print(f"{'input':<44} {'wall':>7} {'cpu':>7}  {'exit':>4}  answer")
        for name, argv, limit_s, want, one_line in inputs:
            if not fnmatch.fnmatch(name, args.only):
                continue
            wall, cpu, code, first, traceback, lines = answer(argv, limit_s, folder if one_line else ROOT)
            flags = []
            if wall > limit_s:
                flags.append(f"SLOW (> {limit_s:g} s)")
            if traceback:
                flags.append("TRACEBACK")
            if code != want:
                flags.append(f"EXIT {code}, want {want}")
            if one_line and lines != 1:
                flags.append(f"{lines} LINES")
            bad += bool(flags)
            shown = first if len(first) < 110 else first[:107] + "..."
            print(
                f"{name:<44} {wall:6.2f}s {cpu:6.2f}s  {code:>4}  {shown}"
                + (f"  <-- {', '.join(flags)}" if flags else "")
            )
    print(f"\n{bad} inputs answered badly")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
