"""Fixtures every part's tests share: a short socket dir, and one scenario clock and log."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from simkit import Clock, ObservationLog


@pytest.fixture
def sockdir() -> Iterator[str]:
    """A short private dir for unix sockets (pytest's tmp_path is too long for them: 107 bytes)."""
    path = tempfile.mkdtemp(prefix="gp", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock()
    yield c
    c.close()


@pytest.fixture
def log(clock: Clock) -> ObservationLog:
    return ObservationLog(clock)
