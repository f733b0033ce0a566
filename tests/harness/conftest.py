"""Shared helpers for the harness tests (pytester, loaded by the root conftest, runs the pytest plugin)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path):
    """Write a dedented scenario (or fragment) file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def docker_engine():
    """A Docker engine that answers here: skipped with the reason where none does, failed under CI."""
    from harness.engine import access as engine

    reason = engine.engine_support()
    if reason:
        if engine.required():
            pytest.fail(f"{reason}; {engine.REQUIRE_ENV} is set, so container tests must run")
        pytest.skip(reason)
    return engine.client()
