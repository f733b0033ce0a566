"""Every scenario's class tag fits what it observes; the check catches a case that does not."""

from __future__ import annotations

from pathlib import Path

from harness.collect import load_all
from harness.model.scenario import load
from harness.observes import CLASSES, observation_class, problems

ROOT = Path(__file__).resolve().parents[2]


def test_every_scenario_of_the_library_has_one_class_that_fits_it() -> None:
    loaded = load_all([ROOT / "scenarios"])
    assert not loaded.errors
    wrong = {s.path: problems(s) for s in loaded.scenarios if problems(s)}
    assert not wrong, wrong
    assert {observation_class(s) for s in loaded.scenarios} == set(CLASSES)


def one(write, text: str):
    (scenario,) = load(write("s.yaml", "description: d\nnode: 2xH100\n" + text))
    return scenario


LOG_STEP = "steps:\n  - expect: {log: 'registered', within: 5s}\n"


def test_a_conformance_case_may_read_log_lines_only_in_a_step_gated_on_our_vocabulary(write) -> None:
    assert problems(one(write, "tags: [conformance]\n" + LOG_STEP))[0].startswith("step 1 (expect)")
    gated = "tags: [conformance]\nsteps:\n  - requires: [our-log-lines]\n    expect: {log: 'x'}\n"
    assert problems(one(write, gated)) == []
    never = "tags: [conformance]\nsteps:\n  - plugin: stop\nnever:\n  - log: 'x'\n"
    assert "never: log" in problems(one(write, never))[0]


def test_a_white_box_case_must_need_an_extension_so_other_plugins_skip_it(write) -> None:
    assert "must require an our-* feature" in problems(one(write, "tags: [white-box]\n" + LOG_STEP))[0]
    ok = "tags: [white-box]\nrequires: {features: [our-log-lines]}\n" + LOG_STEP
    assert problems(one(write, ok)) == []


def test_a_case_needs_exactly_one_class_and_an_own_plugin_case_a_plugin(write) -> None:
    assert "exactly one" in problems(one(write, "tags: [health]\n" + LOG_STEP))[0]
    assert "exactly one" in problems(one(write, "tags: [conformance, white-box]\n" + LOG_STEP))[0]
    assert "plugin.command, image or manifest" in problems(one(write, "tags: [own-plugin]\n" + LOG_STEP))[0]
