from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.loader import load_text
from harness.model.matcher import MISSING, Matcher


class Resolver:
    def resolve(self, expr):
        from harness.templating import ListRef

        if isinstance(expr, ListRef):
            return ["GPU-a", "GPU-b", "GPU-c"]
        return {"gpu0": "GPU-a", "gpu1": "GPU-b"}[str(expr)]


def m(text: str) -> Matcher:
    return Matcher.from_yaml(load_text(text, "m.yaml"))


R = Resolver()


def test_a_scalar_means_equal_after_templating() -> None:
    assert m('"{gpu0}"').match("GPU-a", R) is None
    assert "expected 'GPU-a'" in m('"{gpu0}"').match("GPU-b", R)


def test_collection_operators_read_comma_separated_values() -> None:
    matcher = m('{count: 2, distinct: true, subset_of: "{healthy}"}')
    assert matcher.match("GPU-a,GPU-c", R) is None
    assert "GPU-x not among" in matcher.match("GPU-a,GPU-x", R)
    assert "duplicated" in matcher.match("GPU-a,GPU-a", R)


def test_set_ignores_order_but_not_membership() -> None:
    assert m('{set: ["{gpu1}", "{gpu0}"]}').match(["GPU-a", "GPU-b"], R) is None
    assert m('{set: ["{gpu1}"]}').match(["GPU-a"], R) is not None


def test_mappings_match_at_least_the_keys_given_unless_exact() -> None:
    assert m("{A: '1'}").match({"A": "1", "B": "2"}, R) is None
    assert "unexpected keys B" in m("{exact: {A: '1'}}").match({"A": "1", "B": "2"}, R)
    assert m("{B: {absent: true}}").match({"A": "1"}, R) is None
    assert "absent" in m("{B: {absent: false}}").match({"A": "1"}, R)


def test_regex_is_searched_and_not_templated() -> None:
    assert m('{regex: "^GPU-[a-z]{1}$"}').match("GPU-a", R) is None
    assert "does not match" in m('{regex: "^MIG-"}').match("GPU-a", R)


def test_not_and_contains_compose() -> None:
    matcher = m('{not: {contains: "{gpu0}"}}')
    assert matcher.match("GPU-b,GPU-c", R) is None
    assert matcher.match("GPU-a,GPU-c", R) is not None


def test_missing_values_do_not_equal_anything() -> None:
    assert m("'x'").match(MISSING, R) is not None


def test_mixing_operators_and_keys_is_an_error_pointing_at_the_key() -> None:
    with pytest.raises(ScenarioError, match="'NVIDIA' mixed with operators"):
        m("{count: 2, NVIDIA: x}")


def test_disjoint_says_which_items_are_shared() -> None:
    assert m('{disjoint: ["{gpu0}"]}').match(["GPU-b", "GPU-c"], R) is None
    assert m('{disjoint: ["{gpu0}"]}').match("GPU-c,GPU-a", R) == "GPU-a should not be among them"
