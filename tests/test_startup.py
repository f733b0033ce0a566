"""pytest starts without importing Faker or Hypothesis where no test uses them (root conftest).

Each case runs pytest in a subprocess on a test file of its own, with this checkout's ini and
root conftest (``-c pyproject.toml -p conftest``, after the case's own options, as pytest loads
a root conftest after the command line's plugins).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A plugin that records, as the session ends (after the terminal summary), what was imported.
RECORDER = """
import json, os, sys

def pytest_unconfigure(config):
    who = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    with open(os.path.join(os.environ["RECORD_DIR"], who + ".json"), "w") as f:
        json.dump({m: m in sys.modules for m in ("faker", "hypothesis")}, f)
"""


def pytest_run(tmp_path: Path, test: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    (tmp_path / "test_case.py").write_text(textwrap.dedent(test), encoding="utf-8")
    (tmp_path / "record_imports.py").write_text(RECORDER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not this run's worker
    env.update(RECORD_DIR=str(tmp_path), PYTHONPATH=f"{tmp_path}:{ROOT}")
    ini = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    plugins = ["-p", "conftest", "-p", "record_imports", "-p", "no:cacheprovider"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *ini, *args, *plugins, "-q", str(tmp_path / "test_case.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    records = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    return proc, records


def test_a_run_that_uses_neither_imports_neither_in_the_controller_or_a_worker(tmp_path) -> None:
    proc, records = pytest_run(tmp_path, "def test_plain():\n    assert True\n", "-n", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(records) == {"controller", "gw0"}
    assert records["controller"] == {"faker": False, "hypothesis": False}
    assert records["gw0"] == {"faker": False, "hypothesis": False}


def test_hypothesis_tests_keep_hypothesis_pytest_plugin(tmp_path) -> None:
    test = """
        from hypothesis import given, strategies as st

        @given(st.integers())
        def test_square_is_not_negative(n):
            assert n * n >= 0
    """
    proc, records = pytest_run(tmp_path, test, "--hypothesis-show-statistics", "--hypothesis-seed", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Hypothesis Statistics" in proc.stdout  # the plugin's own report, from its hooks
    assert records["controller"]["hypothesis"] is True


def test_naming_hypothesis_plugin_on_the_command_line_still_works(tmp_path) -> None:
    test = "from hypothesis import given, strategies as st\n\n@given(st.none())\ndef test_n(x):\n    pass\n"
    proc, _ = pytest_run(tmp_path, test, "-p", "hypothesispytest", "--hypothesis-show-statistics")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Hypothesis Statistics" in proc.stdout
