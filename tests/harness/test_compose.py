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
    write("_bad.yaml", "steps:\n  - kubelet: reboot\n")
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
