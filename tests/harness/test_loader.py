from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import loader as loader_module
from harness.errors import ScenarioError
from harness.loader import load_file, load_text


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


# -- budgets, encodings and the two YAML parsers ---------------------------------------------

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


def _locs(node) -> list:
    """Every value's and key's place, depth first: what two parsers must agree on."""
    out = [(node.loc.line, node.loc.col, node.value if not (node.is_map or node.is_seq) else None)]
    if node.is_map:
        out += [(k, loc.line, loc.col) for k, loc in node.key_locs.items()]
        for child in node.value.values():
            out += _locs(child)
    elif node.is_seq:
        for child in node.value:
            out += _locs(child)
    return out


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_libyaml_and_pure_python_give_the_same_located_tree(loader, monkeypatch) -> None:
    text = (Path(__file__).parents[2] / "scenarios/health/xid-fatal-marks-unhealthy.yaml").read_text()
    reference = load_text(text, "f.yaml")
    monkeypatch.setattr(loader_module, "_LOADER", loader)
    assert _locs(load_text(text, "f.yaml")) == _locs(reference)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_scalars_read_as_pyyaml_reads_them(loader, monkeypatch) -> None:
    monkeypatch.setattr(loader_module, "_LOADER", loader)
    text = "a: [1, 0x1f, 1.5, .inf, true, no, ~, '', '7', !!str 5, 2001-12-14, <<, 1_000]\n"
    got = load_text(text, "f.yaml").plain()["a"]
    assert got == [1, 31, 1.5, float("inf"), True, False, None, "", "7", "5", "2001-12-14", "<<", 1000]


def test_an_alias_bomb_fails_at_the_alias_that_breaks_the_budget_and_names_it() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values
    with pytest.raises(ScenarioError) as info:
        load_text("\n".join(lines), "f.yaml")
    message = str(info.value).splitlines()[0]
    assert message.startswith("f.yaml:5:45: alias *a3 repeats 11111 values, 101218 through aliases")
    assert "HARNESS_MAX_ALIAS_VALUES" in message


def test_the_alias_budget_is_raised_by_its_environment_variable(monkeypatch) -> None:
    text = "a: &a [" + ", ".join(["x"] * 50) + "]\nb: [*a, *a, *a]\n"
    monkeypatch.setenv("HARNESS_MAX_ALIAS_VALUES", "100")
    with pytest.raises(ScenarioError, match="alias \\*a repeats 51 values, 102 through aliases so far"):
        load_text(text, "f.yaml")
    monkeypatch.setenv("HARNESS_MAX_ALIAS_VALUES", "200")
    assert len(load_text(text, "f.yaml").plain()["b"]) == 3


@pytest.mark.parametrize("loader", LOADERS, ids=lambda c: c.__name__)
def test_a_5000_deep_list_is_a_located_error_not_a_recursion_error(loader, monkeypatch) -> None:
    monkeypatch.setattr(loader_module, "_LOADER", loader)
    with pytest.raises(ScenarioError) as info:
        load_text("steps: " + "[" * 5000 + "]" * 5000 + "\n", "f.yaml")
    first = str(info.value).splitlines()[0]
    assert first.startswith("f.yaml:1:") and "HARNESS_MAX_YAML_DEPTH" in first


def test_nesting_within_the_depth_budget_loads(monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_MAX_YAML_DEPTH", "100")
    tree = load_text("a: " + "[" * 90 + "]" * 90 + "\n", "f.yaml")
    assert tree.value["a"].is_seq


def test_a_file_over_the_size_budget_is_refused_before_it_is_read(tmp_path, monkeypatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("description: " + "x" * 200 + "\n")
    monkeypatch.setenv("HARNESS_MAX_FILE_BYTES", "100")
    with pytest.raises(ScenarioError, match=r"big.yaml:1:1: the file has 214 bytes; the limit is 100 bytes"):
        load_file(path)


def test_non_utf8_bytes_are_located_at_the_first_that_does_not_decode(tmp_path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"description: ok\nsteps:\n  - plugin: r\xe9start\n")
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    first = str(info.value).splitlines()[0]
    assert first == f"{path}:3:14: the file is not UTF-8 text: byte 0xe9 cannot be decoded here"
    assert "     3 |   - plugin: r\ufffdstart" in str(info.value)


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_key(tmp_path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffdescription: ok\n".encode())
    assert load_file(path).plain() == {"description": "ok"}


def test_a_folder_or_a_missing_file_is_one_sentence(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="this is a folder, not a scenario file"):
        load_file(tmp_path)
    with pytest.raises(ScenarioError, match="file not found"):
        load_file(tmp_path / "none.yaml")


def test_a_very_long_line_shows_a_window_around_the_column() -> None:
    text = "a: [" + "1, " * 400 + "]]\n"
    with pytest.raises(ScenarioError) as info:
        load_text(text, "f.yaml")
    assert all(len(line) < 140 for line in str(info.value).splitlines()[1:])
