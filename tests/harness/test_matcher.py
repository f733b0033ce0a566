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


def shaped(cls, text: str):
    return cls.from_yaml(load_text(text, "m.yaml"))


def test_a_number_matcher_takes_a_number_or_operators_and_matches_like_any_matcher() -> None:
    from harness.model.matcher import NumberMatcher

    assert shaped(NumberMatcher, "4").match(4, R) is None
    assert shaped(NumberMatcher, "{ge: 2, not: 5}").match(3, R) is None
    assert "expected >= 2" in shaped(NumberMatcher, "{ge: 2}").match(1, R)


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ("{greater_than: 1}", "m.yaml:1:2: unknown matcher operator 'greater_than'", "did you mean 'gt'?"),
        ("{ge: 1, lte: 4}", "m.yaml:1:9: unknown matcher operator 'lte'", "did you mean 'le'?"),
        ("{not: {regx: 1}}", "m.yaml:1:8: unknown matcher operator 'regx'", "did you mean 'regex'?"),
        ("{count: {more: 1}}", "m.yaml:1:10: unknown matcher operator 'more'", ""),
    ],
)
def test_a_mapping_for_a_number_can_only_hold_operators(text, where, hint) -> None:
    from harness.model.matcher import NumberMatcher

    with pytest.raises(ScenarioError) as info:
        shaped(NumberMatcher, text)
    assert str(info.value).startswith(where)
    assert hint in str(info.value)


def test_lists_and_strings_refuse_unknown_operators_too_but_any_value_takes_keys() -> None:
    from harness.model.matcher import ItemsMatcher, TextMatcher

    with pytest.raises(ScenarioError, match=r"(?s)unknown matcher operator 'size'.*did you mean 'count'"):
        shaped(ItemsMatcher, "{size: 2}")
    with pytest.raises(ScenarioError, match=r"(?s)unknown matcher operator 'matches'.*did you mean 'regex'"):
        shaped(TextMatcher, "{matches: x}")
    assert m("{greater_than: 1}").match({"greater_than": 1}, R) is None  # a mapping of keys
