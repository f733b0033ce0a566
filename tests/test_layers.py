"""The import layers in pyproject.toml hold, the check sees every file, and it catches a crossing."""

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


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's packages and contracts as they are (so a missing __init__.py shows)."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return root


def test_the_repository_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_folder_of_python_files_is_a_package() -> None:
    """import-linter skips a folder without __init__.py: its imports would go unchecked."""
    missing = [
        str(folder.relative_to(ROOT))
        for package in PACKAGES
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("plugin/health.py", "import fake_nvml", "the plugin core never imports"),
        ("plugin/server.py", "from fake_kubelet import kubelet", "the plugin core never imports"),
        ("fake_kubelet/kubelet.py", "import plugin", "fake_kubelet speaks only the wire API"),
        ("fake_nvml/node.py", "from deviceplugin import v1beta1", "fake_nvml stands alone"),
        ("deviceplugin/extra.py", "import harness", "deviceplugin (the wire API)"),
        ("fake_kubelet/manager.py", "from fake_kubelet import admission", "fake_kubelet in layers"),
        (
            "fake_kubelet/registration.py",
            "from fake_kubelet.allocator import DeviceAllocator",
            "fake_kubelet in layers",
        ),
        # The blind spot of issue 10: harness/model had no __init__.py, so this passed.
        ("fake_kubelet/kubelet.py", "from harness.model import matcher", "fake_kubelet speaks only"),
        # Inside harness: the language never reaches up to the runner or the front ends ...
        ("harness/model/base.py", "from harness.runner import run", "harness: front ends"),
        ("harness/context.py", "from harness.model import scenario", "harness: front ends"),
        ("harness/reports/html.py", "import harness.cli", "harness: front ends"),
        # ... the layers inside its packages hold ...
        ("harness/model/schema.py", "from harness.model import scenario", "harness.model: scenario"),
        ("harness/runner/live.py", "from harness.runner import setup", "harness.runner: run"),
        ("harness/launchers/base.py", "from harness.launchers import subprocess", "harness.launchers"),
        ("harness/explore/world.py", "from harness.explore import live", "harness.explore: explorer"),
        ("harness/runner/setup.py", "from harness.explore import fleet", "harness: front ends"),
        # ... and sibling modules stay independent.
        ("harness/steps/rpc.py", "from harness.steps import pods", "step modules are independent"),
        ("harness/conditions/events.py", "from harness.conditions import kubelet", "condition modules"),
    ],
)
def test_a_crossing_import_breaks_the_layer_check(
    tmp_path: Path, tree_copy: Path, module: str, line: str, contract: str
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(tree_copy, root)
    target = root / module
    before = target.read_text() if target.exists() else ""
    target.write_text(before + f"\n{line}\n")
    result = lint_imports(root)
    assert result.returncode != 0, result.stdout
    _, _, broken = result.stdout.partition("Broken contracts")
    assert contract in broken, result.stdout
