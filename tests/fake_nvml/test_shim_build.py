"""The shim builds from a clean checkout, once per source version, and exports what it must."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fake_nvml import shim
from fake_nvml.api import surface_functions
from fake_nvml.shim import build
from fake_nvml.symbols import c_symbols, symbols_by_function


def _build_in(cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fake_nvml.shim"],
        env={**os.environ, "XDG_CACHE_HOME": str(cache), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_fresh_cache_builds_the_library_once(tmp_path: Path) -> None:
    first = _build_in(tmp_path)
    assert first.returncode == 0, first.stderr
    library = Path(first.stdout.strip())
    assert library.name == "libnvidia-ml.so.1" and library.is_relative_to(tmp_path)
    built_at = library.stat().st_mtime_ns
    again = _build_in(tmp_path)
    assert again.stdout == first.stdout and library.stat().st_mtime_ns == built_at
    assert os.listdir(library.parent) == ["libnvidia-ml.so.1"]  # nothing else on LD_LIBRARY_PATH


def test_racing_builders_all_get_one_whole_library(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "fake_nvml.shim"], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    paths = {proc.communicate(timeout=300)[0].strip() for proc in procs}
    assert len(paths) == 1 and all(proc.returncode == 0 for proc in procs)
    ctypes.CDLL(paths.pop())
    assert [p.name for p in (tmp_path / "fake_nvml").iterdir() if p.name.startswith("build-")] == []


def test_without_a_compiler_the_error_is_one_line_naming_it(tmp_path: Path) -> None:
    done = _build_in(tmp_path, CC=str(tmp_path / "no-such-cc"))
    assert done.returncode == 1
    assert (
        done.stderr.count("\n") == 1 and "no C compiler found" in done.stderr and "no-such-cc" in done.stderr
    )


def test_the_sources_compile_without_warnings(tmp_path: Path) -> None:
    assert build.build(tmp_path / "libnvidia-ml.so.1", build.compiler()) == ""


def test_every_c_symbol_pynvml_binds_is_exported() -> None:
    library = ctypes.CDLL(shim.library_path())
    missing = [name for name in c_symbols() if not hasattr(library, name)]
    assert missing == []


@pytest.mark.skipif(shutil.which("nm") is None, reason="needs nm (binutils) to tell stubs from definitions")
def test_every_modelled_function_is_implemented_in_c_not_stubbed() -> None:
    listing = subprocess.run(
        ["nm", "-D", "--defined-only", shim.library_path()], capture_output=True, text=True, check=True
    ).stdout
    kinds = {line.split()[2]: line.split()[1] for line in listing.splitlines() if len(line.split()) == 3}
    wanted = {symbol for fn in surface_functions() for symbol in symbols_by_function().get(fn, ())}
    assert {s for s in wanted if kinds.get(s) != "T"} == set()
    assert {k for k, kind in kinds.items() if kind == "W"} <= set(c_symbols())
