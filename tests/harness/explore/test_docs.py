"""docs/explore.md lists every invariant with its statement and every action, and the README links it."""

from __future__ import annotations

from pathlib import Path

from harness.explore.actions import ACTIONS
from harness.explore.invariants import INVARIANTS

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "explore.md"


def test_every_invariant_is_documented_with_its_statement() -> None:
    text = DOC.read_text(encoding="utf-8")
    for invariant in INVARIANTS:
        needs = ", ".join(invariant.needs) or "-"
        row = f"| `{invariant.name}` | {invariant.statement} | {needs} |"
        assert row in text, f"docs/explore.md: the invariants table lacks or misstates\n{row}"


def test_every_action_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for action in ACTIONS:
        row = f"| `{action.name}` | {action.group} | {action.doc} |"
        assert row in text, f"docs/explore.md: the actions table lacks or misstates\n{row}"


def test_the_readme_links_the_explore_guide() -> None:
    assert "docs/explore.md" in (ROOT / "README.md").read_text(encoding="utf-8")
