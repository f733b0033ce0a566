"""Root conftest: keeps `pytest scenarios/` working from a plain checkout, and pytest quick to start.

The harness's pytest plugin is also registered by its entry point (pytest11) under the same
name, so an installed checkout does not register it twice.

Start-up: Faker's pytest plugin imports all of Faker (~0.5 s) in every pytest process for a
`faker` fixture nothing here uses, so pyproject blocks it (`-p no:faker`; Faker itself is used
directly). Hypothesis' plugin is cheap to load but imports all of Hypothesis (~0.6 s) in its
terminal summary, only to report observation files that an imported Hypothesis could have
written. pyproject blocks its entry point and this file registers the same plugin with that
one hook skipped when no test imported Hypothesis; everything else (options, health checks,
the `hypothesis` marker, failing-example reports) is Hypothesis' own.
"""

from __future__ import annotations

import sys
from typing import Any

# pytester lets tests/harness run the pytest plugin the way pytest tests itself; pytest only
# accepts `pytest_plugins` in the root conftest.
pytest_plugins = ["harness.pytest_plugin", "pytester"]

HYPOTHESIS_PLUGIN = "hypothesispytest"  # its pytest11 entry point's name


def pytest_addhooks(pluginmanager: Any) -> None:
    """Register Hypothesis' plugin, with a lazy terminal summary (historic: options still count)."""
    if pluginmanager.get_plugin(HYPOTHESIS_PLUGIN) is not None:  # `-p hypothesispytest` given
        return
    import _hypothesis_pytestplugin as plugin

    summary = plugin.pytest_terminal_summary
    if getattr(summary, "lazy", False):
        return

    def pytest_terminal_summary(terminalreporter: Any) -> None:
        if "hypothesis" in sys.modules:
            summary(terminalreporter)

    pytest_terminal_summary.lazy = True  # type: ignore[attr-defined]
    plugin.pytest_terminal_summary = pytest_terminal_summary
    pluginmanager.register(plugin, f"{HYPOTHESIS_PLUGIN}-lazy")
