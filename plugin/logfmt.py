"""One log line per event, in a stable ``<event> key=value ...`` form that scenarios can match.

Why a format of our own and not free text: scenarios wait for plugin log lines ("device-unhealthy
with xid=79"), so the event word and the keys are part of the plugin's contract. Values that
contain spaces, quotes or ``=`` are written as JSON strings; :func:`parse_line` reads a line back.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

LOGGER_NAME = "gpu-device-plugin"
_BARE = re.compile(r"^[A-Za-z0-9_.:/,+@\-]*$")
_TOKEN = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(str(v) for v in value)
    text = str(value)
    return text if text and _BARE.match(text) else json.dumps(text)


def format_event(event: str, **fields: Any) -> str:
    """``format_event("registered", resource="nvidia.com/gpu")`` → ``registered resource=nvidia.com/gpu``."""
    parts = [event] + [f"{key}={_value(val)}" for key, val in fields.items() if val is not None]
    return " ".join(parts)


def parse_line(line: str) -> tuple[str, dict[str, str]]:
    """Read back ``(event, fields)`` from a line (anything before the event word, e.g. a level, is skipped).

    The event is the first token that is not a key=value pair and not a level name.
    """
    tokens = line.strip().split()
    levels = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    event = ""
    rest_at = 0
    for i, token in enumerate(tokens):
        if "=" not in token and token not in levels and not token[:1].isdigit():
            event, rest_at = token, i + 1
            break
    rest = " ".join(tokens[rest_at:])
    fields = {}
    for key, raw in _TOKEN.findall(rest):
        fields[key] = json.loads(raw) if raw.startswith('"') else raw
    return event, fields


class EventLogger:
    """Writes one formatted line per event to a ``logging.Logger``."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(LOGGER_NAME)

    def info(self, event: str, **fields: Any) -> None:
        self.logger.info(format_event(event, **fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.logger.warning(format_event(event, **fields))

    def error(self, event: str, **fields: Any) -> None:
        self.logger.error(format_event(event, **fields))

    def debug(self, event: str, **fields: Any) -> None:
        self.logger.debug(format_event(event, **fields))
