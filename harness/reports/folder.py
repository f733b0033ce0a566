"""Where a run's reports go: a new timestamped folder per run, and ``latest`` pointing at the newest.

``reports/2026-12-02T00-15-42/`` holds one run (its index, case folders, JUnit, allure
results); ``reports/latest`` is a symlink to the newest run, replaced atomically. No run
deletes another's folder; a run that selects nothing makes no folder at all.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LATEST = "latest"


def new_run_folder(base: Path, now: float | None = None) -> Path:
    """Make and return ``base/<local time>`` (``-2``, ``-3`` ... when that second is taken)."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now))
    for n in range(1, 1000):
        folder = base / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{base}: more than 999 runs started in the second {stamp}")


def point_latest(base: Path, run: Path) -> Path:
    """Make ``base/latest`` point at ``run`` (relative, so the tree can move as a whole)."""
    link = base / LATEST
    if link.exists() and not link.is_symlink():
        raise FileExistsError(f"{link} is a folder or file, not the link this harness keeps; move it away")
    tmp = base / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(run.name, tmp)
    os.replace(tmp, link)
    return link
