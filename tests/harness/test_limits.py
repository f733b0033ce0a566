"""Budgets: defaults, raised by their environment variable, and a bad value said in one line."""

from __future__ import annotations

import pytest

from harness.cli import main
from harness.limits import LIMITS, MATRIX_CASES, Limit, LimitError


def test_each_limit_has_its_own_environment_variable_and_says_what_it_counts() -> None:
    assert len({limit.env for limit in LIMITS}) == len(LIMITS)
    assert all(limit.env.startswith("HARNESS_MAX_") and limit.what and limit.default > 0 for limit in LIMITS)


def test_the_environment_raises_a_limit(monkeypatch) -> None:
    assert MATRIX_CASES.value() == MATRIX_CASES.default
    monkeypatch.setenv(MATRIX_CASES.env, "5_000")
    assert MATRIX_CASES.value() == 5000


@pytest.mark.parametrize(
    ("raw", "message"),
    [("lots", "is not a whole number"), ("0", "must be at least 1"), ("999", "above the most")],
)
def test_a_bad_value_in_the_environment_is_refused_with_the_variable_named(monkeypatch, raw, message) -> None:
    limit = Limit("HARNESS_MAX_TEST", 10, "things", ceiling=100)
    monkeypatch.setenv("HARNESS_MAX_TEST", raw)
    with pytest.raises(LimitError, match=f"HARNESS_MAX_TEST={raw!r}|HARNESS_MAX_TEST={raw}") as info:
        limit.value()
    assert message in str(info.value)


def test_the_breach_sentence_names_the_limit_and_how_to_raise_it() -> None:
    assert MATRIX_CASES.breach("'matrix' makes 2000 combinations", 1000) == (
        "'matrix' makes 2000 combinations; the limit is 1000 matrix combinations in one file "
        "(raise it with HARNESS_MAX_MATRIX_CASES=N)"
    )


def test_the_cli_answers_a_bad_limit_in_one_line_with_exit_2(write, monkeypatch, capsys) -> None:
    path = write("s/ok.yaml", "description: d\nsteps:\n  - plugin: restart\n")
    monkeypatch.setenv("HARNESS_MAX_FILE_BYTES", "ten")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "dp-harness: HARNESS_MAX_FILE_BYTES='ten' is not a whole number "
        "(it sets the bytes in one scenario file)\n"
    )
