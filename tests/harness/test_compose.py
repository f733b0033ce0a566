from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.model.scenario import load


def test_matrix_makes_one_case_per_combination_minus_excludes(write) -> None:
    path = write(
        "s.yaml",
        """
        description: d
        matrix:
          strategy: [envvar, cdi-cri]
          id: [uuid, index]
          exclude: [{strategy: cdi-cri, id: index}]
        plugin: {args: ["--device-list-strategy={matrix.strategy}", "--device-id-strategy", "{matrix.id}"]}
        steps: [{plugin: restart}]
    """,
    )
    cases = load(path)
    assert [c.id for c in cases] == ["s[envvar-uuid]", "s[envvar-index]", "s[cdi-cri-uuid]"]
    assert cases[1].plugin.args == ["--device-list-strategy=envvar", "--device-id-strategy", "index"]


def test_a_lone_matrix_template_keeps_the_value_type(write) -> None:
    path = write(
        "s.yaml",
        """
        description: d
        matrix: {xid: [48, 79]}
        steps: [{inject: {xid: "{matrix.xid}", gpu: gpu0}}]
    """,
    )
    assert [c.steps[0].step.xid for c in load(path)] == [48, 79]


def test_includes_merge_settings_and_splice_steps_keeping_fragment_lines(write) -> None:
    write(
        "_frag/base.yaml",
        """
        node: 2xH100
        plugin: {env: {A: "1"}}
        steps:
          - expect: {registered: true}
    """,
    )
    write(
        "_frag/restart.yaml",
        """
        steps:
          - kubelet: restart
          - kubelet: restart
    """,
    )
    path = write(
        "s.yaml",
        """
        description: d
        include: _frag/base.yaml
        plugin: {env: {B: "2"}}
        steps:
          - include: _frag/restart.yaml
          - plugin: stop
    """,
    )
    (scenario,) = load(path)
    assert scenario.node.spec == "2xH100"
    assert scenario.plugin.env == {"A": "1", "B": "2"}
    assert [c.step.key for c in scenario.steps] == ["expect", "kubelet", "kubelet", "plugin"]
    assert scenario.steps[1].loc.path.endswith("restart.yaml") and scenario.steps[1].loc.line == 2


def test_errors_inside_a_fragment_point_into_the_fragment(write) -> None:
    write("_bad.yaml", "steps:\n  - kubelet: pause\n")
    path = write("s.yaml", "description: d\nsteps:\n  - include: _bad.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert str(info.value).startswith(f"{path.parent / '_bad.yaml'}:2:14:")


def test_include_cycles_are_named(write) -> None:
    write("_a.yaml", "include: _b.yaml\n")
    write("_b.yaml", "include: _a.yaml\n")
    path = write("s.yaml", "description: d\ninclude: _a.yaml\nsteps: [{plugin: stop}]\n")
    with pytest.raises(ScenarioError, match="include cycle"):
        load(path)


def test_a_matrix_over_the_budget_fails_at_once_naming_the_limit(write, monkeypatch) -> None:
    axes = "".join(f"  v{i}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for i in range(8))
    path = write("m.yaml", "description: d\nmatrix:\n" + axes + "steps: [{plugin: restart}]\n")
    with pytest.raises(ScenarioError, match="= 100000000 combinations; the limit is 1000 "):
        load(path)  # built first, 10^8 cases would take minutes and gigabytes
    monkeypatch.setenv("HARNESS_MAX_MATRIX_CASES", "10")
    small = write(
        "n.yaml", "description: d\nmatrix: {a: [1, 2, 3], b: [x, y, z, w]}\nsteps: [{plugin: restart}]\n"
    )
    with pytest.raises(ScenarioError, match="'matrix' makes 3 x 4 = 12 combinations; the limit is 10"):
        load(small)
    monkeypatch.setenv("HARNESS_MAX_MATRIX_CASES", "12")
    assert len(load(small)) == 12


def test_matrix_case_ids_must_differ_so_reports_do_not_overwrite_each_other(write) -> None:
    path = write("m.yaml", "description: d\nmatrix: {a: [x-y, x], b: [z, y-z]}\nsteps: [{plugin: restart}]\n")
    with pytest.raises(ScenarioError, match=r"same id 'x-y-z' \(\{'a': 'x-y', 'b': 'z'\} and \{'a': 'x'"):
        load(path)
    excluded = write(
        "e.yaml",
        "description: d\nmatrix: {a: [x-y, x], b: [z, y-z], exclude: [{a: x, b: y-z}]}\n"
        "steps: [{plugin: restart}]\n",
    )
    assert [c.case for c in load(excluded)] == ["x-y-z", "x-y-y-z", "x-z"]


def test_a_matrix_without_variables_says_so(write) -> None:
    path = write("m.yaml", "description: d\nmatrix: {exclude: []}\nsteps: [{plugin: restart}]\n")
    with pytest.raises(ScenarioError, match="'matrix' defines no variable, so it makes no case"):
        load(path)


def test_a_missing_include_suggests_only_a_close_name_in_the_folder_it_points_into(write) -> None:
    write("_frags/_plugin-restart.yaml", "steps: [{plugin: restart}]\n")
    write("_unrelated.yaml", "steps: [{plugin: restart}]\n")
    typo = write("t.yaml", "description: d\ninclude: _frags/_plugin-restrat.yaml\nsteps: [{plugin: stop}]\n")
    with pytest.raises(ScenarioError, match=r"did you mean '_frags/_plugin-restart.yaml'\?"):
        load(typo)
    far = write("f.yaml", "description: d\ninclude: _kubelet.yaml\nsteps: [{plugin: stop}]\n")
    with pytest.raises(ScenarioError) as info:
        load(far)
    assert "did you mean" not in str(info.value)
    nowhere = write("n.yaml", "description: d\ninclude: _nope/_x.yaml\nsteps: [{plugin: stop}]\n")
    with pytest.raises(ScenarioError, match="there is no folder"):
        load(nowhere)
