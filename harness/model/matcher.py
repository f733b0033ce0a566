"""Matchers: how an expectation says what a value must look like.

A plain scalar means "equal to" (after templating); a list means "exactly these items in this
order"; a mapping means "at least these keys, each matching" unless it is a mapping of
operators (``regex``, ``set``, ``subset_of``, ``disjoint``, ``contains``, ``count``, ``one_of``
(one value among several), ``exact``,
``absent``, ``not``, ``any``, ``empty``, ``ge``/``gt``/``le``/``lt``, ``equals``), which all
must hold. Collection operators read a comma-separated string (``NVIDIA_VISIBLE_DEVICES``) as
its items. ``match`` returns ``None`` on success or a sentence saying why not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import templating
from harness.errors import UNKNOWN, Loc, ScenarioError, did_you_mean
from harness.loader import YNode
from harness.model.counts import render_count
from harness.model.text import check_templates
from harness.templating import Resolver, TemplateError


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


MISSING: Any = _Missing()


def items_of(value: Any) -> list[Any]:
    """A value as a list of items: lists as they are, comma-separated strings split."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]


def _show(value: Any) -> str:
    if value is MISSING:
        return "absent"
    return repr(value)


def _check_templates(node: YNode, ctx: Any) -> None:
    if isinstance(node.value, str):
        check_templates(node.value, node.loc, ctx)
    elif node.is_map:
        for child in node.value.values():
            _check_templates(child, ctx)
    elif node.is_seq:
        for child in node.value:
            _check_templates(child, ctx)


def _render(value: Any, r: Resolver) -> Any:
    """Templated expected data: strings resolve (a lone list template stays a list; in lists it splices)."""
    if isinstance(value, str):
        return templating.render_value(value, r)
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            rendered = _render(item, r)
            if isinstance(item, str) and isinstance(rendered, list):
                out.extend(rendered)
            else:
                out.append(rendered)
        return out
    if isinstance(value, dict):
        return {k: _render(v, r) for k, v in value.items()}
    return value


def _same(expected: Any, actual: Any) -> bool:
    if actual is MISSING:
        return False
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    if type(expected) is type(actual) or (
        isinstance(expected, int | float) and isinstance(actual, int | float) and not isinstance(actual, bool)
    ):
        return bool(expected == actual)
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    return str(expected) == str(actual)


class Matcher:
    """Base of all matchers; parse with :meth:`from_yaml`."""

    loc: Loc = UNKNOWN

    def match(self, actual: Any, r: Resolver) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def yaml_expected(cls) -> str:
        return "a matcher (a value, a list, or a mapping of keys or of operators; see 'Matcher operators')"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Matcher:
        matcher = _from_node(node, ctx, None)
        matcher.loc = node.loc
        return matcher


class Shaped(Matcher):
    """A matcher for a field whose value is always of one kind (a number, a list, a string).

    Such a value has no keys, so a mapping given for it can only be operators: an unknown one
    (``allocatable: {greater_than: 1}``) is an error at load time, naming the key, instead of a
    mapping matcher that fails after the full wait. Subclasses name the kind.
    """

    kind = "a value"

    def __init__(self, inner: Matcher) -> None:
        self.inner = inner
        self.loc = inner.loc

    def match(self, actual: Any, r: Resolver) -> str | None:
        return self.inner.match(actual, r)

    def describe(self) -> str:
        return self.inner.describe()

    @classmethod
    def yaml_expected(cls) -> str:
        return f"{cls.kind}, or a mapping of operators such as {_EXAMPLE[cls.kind]}"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Matcher:
        inner = _from_node(node, ctx, cls.kind)
        inner.loc = node.loc
        return cls(inner)


class NumberMatcher(Shaped):
    """A count, a capacity, an exit code: ``2`` or ``{ge: 1}``."""

    kind = "a number"


class ItemsMatcher(Shaped):
    """A list of device IDs or names: ``['{gpu0}']`` or ``{count: 2, subset_of: '{healthy}'}``."""

    kind = "a list"


class TextMatcher(Shaped):
    """A message, a name, an endpoint: ``nvidia-gpu.sock`` or ``{regex: '...'}``."""

    kind = "a string"


_EXAMPLE = {"a number": "{ge: 1}", "a list": "{count: 2}", "a string": "{regex: 'x'}"}
# Operators other tools spell differently, for the "did you mean" of an unknown one.
_SPELLINGS = {
    "greater_than": "gt",
    "greater_or_equal": "ge",
    "gte": "ge",
    "at_least": "ge",
    "min": "ge",
    "less_than": "lt",
    "less_or_equal": "le",
    "lte": "le",
    "at_most": "le",
    "max": "le",
    "eq": "equals",
    "equal": "equals",
    "is": "equals",
    "match": "regex",
    "matches": "regex",
    "in": "one_of",
    "any_of": "one_of",
    "len": "count",
    "length": "count",
    "size": "count",
    "includes": "contains",
    "has": "contains",
    "unique": "distinct",
    "subset": "subset_of",
}


@dataclass
class Equals(Matcher):
    expected: Any

    def match(self, actual: Any, r: Resolver) -> str | None:
        want = _render(self.expected, r)
        if isinstance(want, list) and not isinstance(actual, list):
            # A list template compared with a comma-separated value: same items, same order.
            if items_of(actual) == want:
                return None
        elif _same(want, actual):
            return None
        return f"expected {want!r}, got {_show(actual)}"

    def describe(self) -> str:
        return repr(self.expected)


@dataclass
class ListMatch(Matcher):
    items: list[Matcher]

    def match(self, actual: Any, r: Resolver) -> str | None:
        values = items_of(actual) if not isinstance(actual, list) else actual
        if len(values) != len(self.items):
            return f"expected {len(self.items)} items, got {len(values)}: {_show(actual)}"
        for i, (m, v) in enumerate(zip(self.items, values, strict=True)):
            if why := m.match(v, r):
                return f"item {i + 1}: {why}"
        return None

    def describe(self) -> str:
        return "[" + ", ".join(m.describe() for m in self.items) + "]"


@dataclass
class MapMatch(Matcher):
    """At least these keys (or exactly, with ``exact``), each value matching."""

    keys: dict[str, Matcher]
    exact: bool = False

    def match(self, actual: Any, r: Resolver) -> str | None:
        if not isinstance(actual, dict):
            return f"expected a mapping, got {_show(actual)}"
        for key, m in self.keys.items():
            rendered_key = templating.render(key, r)
            if why := m.match(actual.get(rendered_key, MISSING), r):
                return f"{rendered_key}: {why}"
        if self.exact:
            wanted = {templating.render(k, r) for k in self.keys}
            extra = sorted(set(actual) - wanted)
            if extra:
                return f"unexpected keys {', '.join(extra)}"
        return None

    def describe(self) -> str:
        inner = ", ".join(f"{k}: {m.describe()}" for k, m in self.keys.items())
        return ("exactly " if self.exact else "") + "{" + inner + "}"


Check = Callable[[Any, Any, Resolver], "str | None"]


@dataclass
class Ops(Matcher):
    """A mapping of operators; all must hold."""

    ops: list[tuple[str, Any]] = field(default_factory=list)

    def match(self, actual: Any, r: Resolver) -> str | None:
        for name, arg in self.ops:
            if why := _OPS[name][0](arg, actual, r):
                return why
        return None

    def describe(self) -> str:
        return " and ".join(_describe_op(name, arg) for name, arg in self.ops)


def _describe_op(name: str, arg: Any) -> str:
    if isinstance(arg, Matcher):
        return f"{name} {arg.describe()}"
    return f"{name} {arg!r}"


def _op_equals(arg: Any, actual: Any, r: Resolver) -> str | None:
    return Equals(arg).match(actual, r)


def _op_regex(arg: str, actual: Any, r: Resolver) -> str | None:
    if actual is MISSING or actual is None:
        return f"expected a value matching /{arg}/, got {_show(actual)}"
    # Regular expressions are not templated: their {m,n} quantifiers would clash with {...}.
    return None if re.search(arg, str(actual)) else f"{_show(actual)} does not match /{arg}/"


def _op_one_of(arg: list[Any], actual: Any, r: Resolver) -> str | None:
    want = _render(arg, r)
    return None if any(_same(w, actual) for w in want) else f"expected one of {want!r}, got {_show(actual)}"


def _as_set(actual: Any) -> set[str]:
    return {str(x) for x in items_of(actual)}


def _op_set(arg: list[Any], actual: Any, r: Resolver) -> str | None:
    want = {str(x) for x in items_of(_render(arg, r))}
    got = _as_set(actual)
    if want == got:
        return None
    return f"expected the items {sorted(want)}, got {sorted(got)}"


def _op_subset_of(arg: Any, actual: Any, r: Resolver) -> str | None:
    allowed = {str(x) for x in items_of(_render(arg, r))}
    extra = sorted(_as_set(actual) - allowed)
    return None if not extra else f"{', '.join(extra)} not among {sorted(allowed)}"


def _op_disjoint(arg: Any, actual: Any, r: Resolver) -> str | None:
    shared = sorted(_as_set(actual) & {str(x) for x in items_of(_render(arg, r))})
    return None if not shared else f"{', '.join(shared)} should not be among them"


def _op_contains(arg: Any, actual: Any, r: Resolver) -> str | None:
    if isinstance(arg, Matcher):
        values = actual if isinstance(actual, list) else items_of(actual)
        if isinstance(arg, MapMatch) and isinstance(actual, dict):
            return arg.match(actual, r)
        wanted = arg.items if isinstance(arg, ListMatch) else [arg]
        for m in wanted:
            if not any(m.match(v, r) is None for v in values):
                return f"no item matches {m.describe()} in {_show(actual)}"
        return None
    want = _render(arg, r)
    if isinstance(actual, str) and isinstance(want, str) and "," not in want:
        if want in actual or want in items_of(actual):
            return None
        return f"{_show(actual)} does not contain {want!r}"
    missing = [str(w) for w in items_of(want) if str(w) not in _as_set(actual)]
    return None if not missing else f"{_show(actual)} lacks {', '.join(missing)}"


def _op_count(arg: Any, actual: Any, r: Resolver) -> str | None:
    n = len(items_of(actual) if not isinstance(actual, dict) else actual)
    arg = render_count(arg, r)
    if isinstance(arg, Matcher):
        why = arg.match(n, r)
        return None if why is None else f"count {n}: {why}"
    return None if n == arg else f"expected {arg} items, got {n}: {_show(actual)}"


def _op_distinct(arg: bool, actual: Any, r: Resolver) -> str | None:
    values = [str(x) for x in items_of(actual)]
    dupes = sorted({v for v in values if values.count(v) > 1})
    return None if (not dupes) == arg else f"duplicated items {dupes}" if arg else "expected duplicates"


def _op_exact(arg: Matcher, actual: Any, r: Resolver) -> str | None:
    return arg.match(actual, r)


def _op_absent(arg: bool, actual: Any, r: Resolver) -> str | None:
    if (actual is MISSING) == arg:
        return None
    return f"expected it absent, got {_show(actual)}" if arg else "expected it present, but it is absent"


def _op_any(arg: bool, actual: Any, r: Resolver) -> str | None:
    return _op_absent(not arg, actual, r)


def _op_empty(arg: bool, actual: Any, r: Resolver) -> str | None:
    empty = actual is MISSING or actual in (None, "", [], {})
    return None if empty == arg else (f"expected empty, got {_show(actual)}" if arg else "expected a value")


def _op_not(arg: Matcher, actual: Any, r: Resolver) -> str | None:
    return None if arg.match(actual, r) is not None else f"{_show(actual)} should not match {arg.describe()}"


def _compare(symbol: str, test: Callable[[float, float], bool]) -> Check:
    def check(arg: Any, actual: Any, r: Resolver) -> str | None:
        arg = render_count(arg, r)
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return f"expected a number {symbol} {arg}, got {_show(actual)}"
        return None if test(actual, arg) else f"expected {symbol} {arg}, got {actual}"

    return check


# name → (check, how the argument is parsed: "raw" data, "matcher", "bool", "number", "str", "list")
_OPS: dict[str, tuple[Callable[..., str | None], str]] = {
    "equals": (_op_equals, "raw"),
    "regex": (_op_regex, "str"),
    "one_of": (_op_one_of, "list"),
    "set": (_op_set, "items"),
    "subset_of": (_op_subset_of, "items"),
    "disjoint": (_op_disjoint, "items"),
    "contains": (_op_contains, "contains"),
    "count": (_op_count, "count"),
    "distinct": (_op_distinct, "bool"),
    "exact": (_op_exact, "exact"),
    "absent": (_op_absent, "bool"),
    "any": (_op_any, "bool"),
    "empty": (_op_empty, "bool"),
    "not": (_op_not, "matcher"),
    "ge": (_compare(">=", lambda a, b: a >= b), "number"),
    "gt": (_compare(">", lambda a, b: a > b), "number"),
    "le": (_compare("<=", lambda a, b: a <= b), "number"),
    "lt": (_compare("<", lambda a, b: a < b), "number"),
}
OPERATORS = tuple(_OPS)


def _op_arg(name: str, node: YNode, ctx: Any, shape: str | None) -> Any:
    kind = _OPS[name][1]
    bad = ScenarioError(node.loc, f"'{name}' cannot take {node.kind()}", expected=_ARG_EXPECTED[kind])
    if kind in ("raw", "list", "items") or (kind == "contains" and not (node.is_map or node.is_seq)):
        _check_templates(node, ctx)
    if kind == "raw":
        return node.plain()
    if kind == "str":
        if not isinstance(node.value, str):
            raise bad
        try:
            re.compile(node.value)
        except re.error as exc:
            raise ScenarioError(node.loc, f"invalid regular expression: {exc}") from None
        return node.value
    if kind == "bool":
        if not isinstance(node.value, bool):
            raise bad
        return node.value
    if kind == "number":
        if isinstance(node.value, str) and templating.has_template(node.value):
            _check_templates(node, ctx)
            return node.value  # a count template ('{gpus}'), rendered when matched
        if not isinstance(node.value, int | float) or isinstance(node.value, bool):
            raise bad
        return node.value
    if kind == "list":
        if not node.is_seq:
            raise bad
        return node.plain()
    if kind == "items":
        if not (node.is_seq or isinstance(node.value, str)):
            raise bad
        return node.plain()
    if kind == "count":
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node.value, str) and templating.has_template(node.value):
            _check_templates(node, ctx)
            return node.value  # a count template ('{gpus}'), rendered when matched
        if node.is_map:
            return NumberMatcher.from_yaml(node, ctx)  # a count is a number
        raise bad
    if kind == "exact":
        if node.is_map:
            keys = {k: Matcher.from_yaml(v, ctx) for k, v in node.value.items()}
            return MapMatch(keys, exact=True)
        if node.is_seq:
            return Matcher.from_yaml(node, ctx)
        raise bad
    if kind == "contains":
        if node.is_map or node.is_seq:
            return Matcher.from_yaml(node, ctx)
        return node.plain()
    matcher = _from_node(node, ctx, shape)  # "matcher" ('not'): the same kind of value
    matcher.loc = node.loc
    return matcher


_ARG_EXPECTED = {
    "raw": "any value",
    "str": "a regular expression (a string)",
    "bool": "true or false",
    "number": "a number (or a count template such as '{gpus}')",
    "list": "a list of values",
    "items": "a list, or a template such as '{healthy}'",
    "count": "an integer, a count template such as '{gpus}', or a mapping of operators (e.g. {ge: 2})",
    "exact": "a mapping or a list",
    "contains": "a value, a list or a mapping",
    "matcher": "a matcher",
}


def _is_template_body(text: str) -> bool:
    try:
        templating.parse_expr(text)
    except TemplateError:
        return False
    return True


def _from_node(node: YNode, ctx: Any, shape: str | None) -> Matcher:
    """``shape``: the kind of value matched ("a number", ...), when a mapping can only be operators."""
    if node.is_seq:
        return ListMatch([Matcher.from_yaml(item, ctx) for item in node.value])
    if node.is_map:
        keys = list(node.value)
        op_keys = [k for k in keys if k in _OPS]
        if shape is not None and len(op_keys) != len(keys):
            other = next(k for k in keys if k not in _OPS)
            raise ScenarioError(
                node.key_loc(other),
                f"unknown matcher operator '{other}' ({shape} has no keys: a mapping here holds operators)",
                expected=f"operators: {', '.join(OPERATORS)}",
                suggestion=(
                    f"did you mean '{_SPELLINGS[other.lower()]}'?"
                    if other.lower() in _SPELLINGS
                    else did_you_mean(other, OPERATORS)
                ),
            )
        if op_keys and len(op_keys) == len(keys):
            return Ops([(k, _op_arg(k, node.value[k], ctx, shape)) for k in keys])
        if op_keys:
            other = next(k for k in keys if k not in _OPS)
            raise ScenarioError(
                node.key_loc(other),
                f"'{other}' mixed with operators ({', '.join(op_keys)})",
                expected="either a mapping of operators or a mapping of keys to match",
                suggestion=did_you_mean(other, OPERATORS),
            )
        if len(keys) == 1 and node.value[keys[0]].value is None and _is_template_body(keys[0]):
            raise ScenarioError(
                node.loc,
                f"YAML read {{{keys[0]}}} as a mapping",
                suggestion=f'to write the template, quote it: "{{{keys[0]}}}"',
            )
        for key in keys:
            _check_templates(YNode(key, node.key_loc(key)), ctx)
        return MapMatch({k: Matcher.from_yaml(v, ctx) for k, v in node.value.items()})
    _check_templates(node, ctx)
    return Equals(node.value)
