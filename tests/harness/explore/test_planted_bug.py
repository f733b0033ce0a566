"""A planted plugin bug is caught: explore reports the invariant it breaks and a short reproducer.

The bug is planted through a test seam, not in the plugin's code: our plugin runs in-process,
so patching its XID classification (``plugin.xids.HealthChecks.is_critical``) for the length of
the test gives a plugin that takes NVIDIA's application XIDs for the critical ones and the
critical ones for application XIDs (an inverted condition). A short seeded session must see the
kubelet's health view part from NVML's truth, shrink the run to a few actions and write a
reproducer that fails in ``harness run`` for the same reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.explore import ExploreOptions, explore
from plugin.xids import DEFAULT_IGNORED_XIDS, HealthChecks


def _inverted(self: HealthChecks, xid: int) -> bool:
    """The planted bug: application XIDs count, critical ones do not."""
    return xid in DEFAULT_IGNORED_XIDS


def _actions(path: Path) -> list[dict]:
    steps = yaml.safe_load(path.read_text(encoding="utf-8"))["steps"]
    return [s for s in steps if "expect" not in s]


def test_explore_catches_a_planted_xid_bug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(HealthChecks, "is_critical", _inverted)
    # A small seeded session: the smallest node, a run cap so that a loaded machine ends where a
    # quiet one does, and a shrink budget that fits the test's minute.
    options = ExploreOptions(seed=1, max_examples=12, budget=30, shrink_budget=10, fleet_size=1)
    outcome = explore(options, tmp_path, replay=True)

    assert not outcome.ok
    assert [f.error for f in outcome.findings if f.error] == []
    finding = next((f for f in outcome.findings if f.invariant == "health-matches-nvml"), None)
    assert finding is not None, [f.signature for f in outcome.findings]
    assert finding.path is not None and finding.path.is_file()
    actions = _actions(finding.path)
    assert 1 <= len(actions) <= 5, actions
    assert any("xid" in a.get("inject", {}) for a in actions), actions
    assert finding.confirmed, f"the reproducer does not fail for the same reason: {finding.replay_status}"
    assert outcome.session.tally.violations["health-matches-nvml"] >= 1
    assert outcome.html is not None and finding.path.name in outcome.html.read_text(encoding="utf-8")
