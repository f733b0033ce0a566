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
        ("fake_kubelet/manager.py", "from fake_kubelet import admission"),
        ("fake_kubelet/registration.py", "from fake_kubelet.allocator import DeviceAllocator"),
    ],
)
def test_a_crossing_import_breaks_the_layer_check(tmp_path: Path, module: str, line: str) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # Every module of the real tree, empty, so the contracts inside packages find their layers.
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            target = tmp_path / source.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("")
    (tmp_path / module).write_text(line + "\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
