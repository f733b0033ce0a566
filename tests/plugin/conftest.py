"""Fixtures: a short socket dir, a simulated node, a fake kubelet, and a plugin run in-process."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML
from plugin import PluginManager, load_config, parse_line


class LogLines(logging.Handler):
    """Collects the plugin's log lines and lets a test wait for one (no sleeping)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self._cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._cond:
            self.lines.append(record.getMessage())
            self._cond.notify_all()

    def find(self, event: str, **fields: Any) -> list[dict[str, str]]:
        with self._cond:
            lines = list(self.lines)
        found = []
        for line in lines:
            name, data = parse_line(line)
            if name == event and all(data.get(k) == str(v) for k, v in fields.items()):
                found.append(data)
        return found

    def wait_for(
        self, event: str, timeout: float = 5.0, count: int = 1, **fields: Any
    ) -> list[dict[str, str]]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.find(event, **fields)) >= count, timeout)
        lines = "\n".join(self.lines)
        assert ok, f"no {count}x log line {event} {fields} within {timeout}s; lines:\n{lines}"
        return self.find(event, **fields)


@pytest.fixture
def node() -> Iterator[FakeNVML]:
    sim = FakeNVML.from_spec("4xH100")
    yield sim
    sim.close()


@pytest.fixture
def kubelet(sockdir: str) -> Iterator[FakeKubelet]:
    fake = FakeKubelet(sockdir)
    fake.start()
    yield fake
    fake.close()


@pytest.fixture
def plugin_logs() -> Iterator[LogLines]:
    handler = LogLines()
    logger = logging.getLogger(f"plugin-test-{id(handler)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    handler.logger = logger  # type: ignore[attr-defined]
    yield handler
    logger.removeHandler(handler)


MakePlugin = Callable[..., PluginManager]


@pytest.fixture
def make_plugin(sockdir: str, plugin_logs: LogLines) -> Iterator[MakePlugin]:
    """``make_plugin(nvml, *argv, env={}, start=True, **tuning)`` → a started PluginManager."""
    managers: list[PluginManager] = []

    def make(
        nvml: Any, *argv: str, env: dict[str, str] | None = None, start: bool = True, **tuning: Any
    ) -> PluginManager:
        config = load_config(["--kubelet-socket", f"{sockdir}/kubelet.sock", *argv], env or {})
        config = dataclasses.replace(config, **{"health_wait_ms": 200, **tuning})
        manager = PluginManager(config, nvml, plugin_logs.logger)  # type: ignore[attr-defined]
        managers.append(manager)
        if start:
            manager.start()
        return manager

    yield make
    for manager in managers:
        manager.stop()
