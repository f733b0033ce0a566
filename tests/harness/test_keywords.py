from __future__ import annotations

import pytest

from harness.keywords import KeywordError, compile_keywords


def test_keywords_combine_substrings_with_and_or_not() -> None:
    match = compile_keywords("xid and not (79 or 48)")
    assert match(["xid-fatal[94]", "health"])
    assert not match(["xid-fatal[79]", "health"])
    assert not match(["registers-gpus"])


def test_a_malformed_expression_is_an_error() -> None:
    with pytest.raises(KeywordError):
        compile_keywords("xid and")
