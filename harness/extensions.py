"""Extension points: entry-point groups through which other packages add steps, conditions,
reporters and launchers, as pytest plugins add themselves through ``pytest11``.

A package declares, in its own ``pyproject.toml``::

    [project.entry-points."dp_harness.steps"]
    xid_storm = "mypkg.steps:XidStorm"          # a harness.model.base.Step subclass; the YAML key

    [project.entry-points."dp_harness.conditions"]
    fan_speed = "mypkg.conditions:FanSpeed"      # a harness.model.base.Condition subclass

    [project.entry-points."dp_harness.reporters"]
    slack = "mypkg.report:SlackReport"           # called with a ReportTarget, returns a Listener

    [project.entry-points."dp_harness.launchers"]
    kind = "mypkg.launch:KindLauncher"           # a harness.launchers.base.Launcher class

The entry point's name is what scenarios, ``--report`` and ``--launcher`` call it. A name that
clashes with a built-in, or an entry point that cannot be imported, is an
:class:`ExtensionError` that names the distribution and what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import TypeVar

STEPS = "dp_harness.steps"
CONDITIONS = "dp_harness.conditions"
REPORTERS = "dp_harness.reporters"
LAUNCHERS = "dp_harness.launchers"
GROUPS = (STEPS, CONDITIONS, REPORTERS, LAUNCHERS)

T = TypeVar("T")


class ExtensionError(Exception):
    """An installed extension that cannot be used; the message names the package and the fix."""


def _where(entry: metadata.EntryPoint) -> str:
    dist = entry.dist
    package = f"{dist.name} {dist.version}" if dist is not None else "an installed package"
    return f"entry point '{entry.name} = {entry.value}' of {package} (group {entry.group})"


def load_group(group: str, builtin: dict[str, T], check: Callable[[object], T | None]) -> dict[str, T]:
    """The built-in table of a vocabulary plus what installed packages add to it.

    ``check`` returns the loaded object as a table entry, or None when it is the wrong kind
    of thing (the error then says what the group expects).
    """
    table = dict(builtin)
    for entry in metadata.entry_points(group=group):
        if entry.name in builtin:
            raise ExtensionError(f"{_where(entry)}: '{entry.name}' is built in; give it another name")
        if entry.name in table:
            raise ExtensionError(f"{_where(entry)}: '{entry.name}' is registered twice")
        try:
            loaded = entry.load()
        except Exception as exc:
            raise ExtensionError(f"{_where(entry)} cannot be imported: {type(exc).__name__}: {exc}") from exc
        value = check(loaded)
        if value is None:
            raise ExtensionError(f"{_where(entry)} is {loaded!r}, which is not what {group} takes")
        table[entry.name] = value
    return table
