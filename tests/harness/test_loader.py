from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.loader import load_text


def test_every_value_and_key_keeps_its_line_and_column() -> None:
    tree = load_text("a: 1\nsteps:\n  - plugin: restart\n", "f.yaml")
    assert (tree.key_loc("steps").line, tree.key_loc("steps").col) == (2, 1)
    step = tree.value["steps"].value[0]
    assert (step.loc.line, step.loc.col) == (3, 5)
    assert step.value["plugin"].loc.col == 13
    assert tree.plain() == {"a": 1, "steps": [{"plugin": "restart"}]}


def test_merge_keys_apply_and_explicit_keys_win() -> None:
    tree = load_text("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert tree.plain()["other"] == {"x": 1, "y": 3}


def test_python_tags_are_refused_at_their_place() -> None:
    with pytest.raises(ScenarioError, match=r"^f.yaml:1:4: YAML tag .*python/name:os.system.* not allowed"):
        load_text("a: !!python/name:os.system ''\n", "f.yaml")


def test_duplicate_keys_are_an_error_not_a_silent_override() -> None:
    with pytest.raises(ScenarioError, match="duplicate key 'a' \\(first given at line 1\\)"):
        load_text("a: 1\na: 2\n", "f.yaml")
