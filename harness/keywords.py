"""``-k EXPR`` for the CLI, as in pytest: ``and``/``or``/``not``/parentheses over substrings.

A bare word matches when it is a case-insensitive substring of the scenario's id, path or one
of its tags.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


class KeywordError(ValueError):
    pass


Match = Callable[[list[str]], bool]


def _either(a: Match, b: Match) -> Match:
    return lambda names: a(names) or b(names)


def _both(a: Match, b: Match) -> Match:
    return lambda names: a(names) and b(names)


def compile_keywords(expr: str) -> Callable[[list[str]], bool]:
    tokens = [t for t in _TOKEN.findall(expr) if t]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise KeywordError(f"-k {expr!r}: unexpected end of expression")
        pos += 1
        return str(tokens[pos - 1])

    def parse_or() -> Callable[[list[str]], bool]:
        left = parse_and()
        while peek() == "or":
            take()
            left = _either(left, parse_and())
        return left

    def parse_and() -> Callable[[list[str]], bool]:
        left = parse_not()
        while peek() == "and":
            take()
            left = _both(left, parse_not())
        return left

    def parse_not() -> Callable[[list[str]], bool]:
        if peek() == "not":
            take()
            inner = parse_not()
            return lambda names: not inner(names)
        if peek() == "(":
            take()
            inner = parse_or()
            if take() != ")":
                raise KeywordError(f"-k {expr!r}: missing ')'")
            return inner
        word = take().lower()
        if word in ("and", "or", ")"):
            raise KeywordError(f"-k {expr!r}: unexpected '{word}'")
        return lambda names: any(word in n.lower() for n in names)

    matcher = parse_or()
    if peek() is not None:
        raise KeywordError(f"-k {expr!r}: unexpected '{peek()}'")
    return matcher
