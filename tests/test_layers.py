"""The import layers in pyproject.toml hold, and the check catches a crossing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("deviceplugin", "simkit", "fake_nvml", "fake_kubelet", "plugin", "harness")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (it comes with the test extra)")
    return subprocess.run(
        [exe, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def test_the_repository_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("plugin/health.py", "import fake_nvml"),
        ("plugin/server.py", "from fake_kubelet import kubelet"),
        ("fake_kubelet/kubelet.py", "import plugin"),
        ("fake_nvml/node.py", "from deviceplugin import v1beta1"),
        ("deviceplugin/extra.py", "import harness"),
    ],
)
def test_a_crossing_import_breaks_the_layer_check(tmp_path: Path, module: str, line: str) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "harness" / "kubelet.py").write_text("")
    (tmp_path / "fake_kubelet" / "kubelet.py").write_text("")
    (tmp_path / module).write_text(line + "\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
