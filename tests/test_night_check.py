"""tools/gpu_night_check.sh on a machine without a GPU: one line, exit 2, and what comes back is
flat and small (the device tool brings back at most 8 files, 2 folders down)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.realnode import nvml_problem

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "gpu_night_check.sh"


@pytest.mark.skipif(not nvml_problem(), reason="this machine's NVML answers: the check would measure it")
def test_without_nvml_the_check_says_why_in_one_line_and_exits_2(tmp_path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    env = os.environ | {"PYTHON": sys.executable, "NIGHT_WORK": str(work), "OUT": str(out)}
    done = subprocess.run(
        [str(SCRIPT), "run"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stdout.rstrip().splitlines()[-1]
    assert last.startswith("gpu_night_check: no usable NVML on ") and last.endswith("(exit 2)"), last
    summary = (out / "SUMMARY.md").read_text()
    assert "| library | not run | no usable NVML: " in summary and "| compare | not run |" in summary
    assert "| preflight | 1 |" in summary  # the smoke check failed on NVML, and said so
    files = sorted(p.name for p in out.iterdir())
    assert all((out / f).is_file() for f in files) and len(files) <= 8, files
    assert {"SUMMARY.md", "preflight.txt", "results.tar.gz"} <= set(files)
    assert "Traceback" not in done.stdout + done.stderr


def test_no_step_runs_past_the_budget(tmp_path) -> None:
    """Each step gets at most what is left of --budget (less 15 s to pack): with 18 s, none starts,
    and the run ends at once, saying so, instead of outliving the device call's timeout."""
    out = tmp_path / "out"
    env = os.environ | {"PYTHON": sys.executable, "NIGHT_WORK": str(tmp_path / "work")}
    done = subprocess.run(
        [str(SCRIPT), "run", "--budget", "18", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    summary = (out / "SUMMARY.md").read_text()
    for name in ("preflight", "probe", "record"):
        assert f"| {name} | not run | the 18 s budget was spent |" in summary, summary
    assert done.returncode in (1, 2), done.stdout
