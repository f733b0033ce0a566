from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_nvml import FakeNVML
from simkit import Clock, ObservationLog


@pytest.fixture
def node(clock: Clock, log: ObservationLog) -> Iterator[FakeNVML]:
    n = FakeNVML.from_spec("4xH100", clock=clock, log=log)
    n.nvmlInit()
    yield n
    n.close()
