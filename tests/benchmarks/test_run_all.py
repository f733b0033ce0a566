"""``benchmarks/run_all.py --quick`` prints the issue-20 table with every target's row, in order.

A smoke test of the table's shape, not of the figures (CI times nothing): each target appears
once, in the order of ``TARGETS``, with a verdict that is met, missed by an amount, or skipped
with its reason; a missed one names its profile file, and the profiles land under ``--out``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import run_all  # noqa: E402

VERDICT = re.compile(r"(met|MISSED by \S+ \S+ \(\S+x the target\)|skipped: .+)$")


def test_quick_run_prints_every_target_row_with_a_verdict(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    keys = [t.key for t in run_all.TARGETS]
    rows = {}
    for line in done.stdout.splitlines():
        key = line.split(" ", 1)[0]
        if key in keys:
            assert key not in rows, f"target {key} printed twice"
            rows[key] = line
    assert list(rows) == keys, done.stdout
    for key, line in rows.items():
        target = run_all.BY_KEY[key]
        assert target.text in line, line
        assert VERDICT.search(line), f"no verdict: {line}"
        if "MISSED" in line:
            assert "profiles: not taken in --quick" in done.stdout
    # The NVIDIA rows are skipped in --quick, with the reason given.
    assert rows["2.1"].endswith("skipped: not run in --quick")
    assert (tmp_path / "table.txt").read_text(encoding="utf-8").splitlines()[1].startswith("2.1 ")
    assert "benchmark failed" not in done.stdout, done.stdout


def test_a_missed_target_says_by_how_much_and_a_met_one_says_met() -> None:
    row = run_all.Row(run_all.BY_KEY["3.2"], p50=3.0)
    assert row.verdict() == "MISSED by 1 ms (1.5x the target)"
    assert run_all.Row(run_all.BY_KEY["3.2"], p50=2.0).verdict() == "met"
    stall = run_all.BY_KEY["3.1"]  # strict: a 200 ms sample is the stall itself
    assert run_all.Row(stall, max=200.0).met is False
    assert run_all.Row(stall, max=199.0).met is True
    assert run_all.Row(stall, skipped="why").verdict() == "skipped: why"
