"""Typed models are the schema: one generic parser turns located YAML into dataclasses.

Why not a separate JSON Schema: the dataclasses (their type hints and field docs) are the
single source of truth for parsing, for the validator's messages and for the reference table
in ``docs/scenarios.md``; nothing can drift. Supported field types: ``str``, ``int``,
``float``, ``bool``, ``Literal[...]``, ``X | None``, ``list[X]``, ``dict[str, X]``, ``Any``,
nested dataclasses, and classes with a ``from_yaml(node, ctx)`` classmethod (durations,
matchers, steps). A dataclass may accept a non-mapping shorthand through a ``shorthand``
classmethod that returns the mapping it stands for.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from harness.errors import UNKNOWN, Loc, ScenarioError, did_you_mean, one_of
from harness.loader import YNode, wrap


@dataclass
class ParseCtx:
    """What parsing needs besides the node: where relative paths start, the declared node
    (a :class:`harness.model.declared.DeclaredNode`) that device aliases are checked against,
    and the case's wall cap (a :class:`harness.model.duration.WallCap`) that waits must fit in."""

    base_dir: Path = field(default_factory=Path.cwd)
    node: Any = None
    wall_cap: Any = None


def doc(
    text: str,
    *,
    key: str | None = None,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    example: Any = None,
) -> Any:
    """A dataclass field with its documentation (and optionally a YAML key that differs)."""
    meta = {"doc": text, "key": key, "example": example}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def loc_field() -> Any:
    """Where the object came from; not a YAML key."""
    return field(default=UNKNOWN, compare=False, repr=False, metadata={"yaml": False})


def yaml_fields(cls: type) -> list[tuple[str, dataclasses.Field[Any]]]:
    """(YAML key, field) pairs of a model, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("yaml", True) is False:
            continue
        out.append((f.metadata.get("key") or f.name.rstrip("_"), f))
    return out


_HINTS: dict[type, dict[str, Any]] = {}


def hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def describe(tp: Any) -> str:
    """How a type is written in YAML, in words (for errors and the docs)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return "any value"
    if hasattr(tp, "yaml_expected"):
        return str(tp.yaml_expected())
    if origin is Literal:
        return one_of(str(a) for a in args)
    if origin in (Union, types.UnionType):
        parts = [describe(a) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return text + (" (or null)" if type(None) in args else "")
    if origin is list:
        return f"a list of {_plural(describe(args[0]))}"
    if origin is dict:
        return f"a mapping of names to {_plural(describe(args[1]))}"
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        keys = ", ".join(k for k, _ in yaml_fields(tp))
        extra = f" (or {tp.shorthand_expected()})" if hasattr(tp, "shorthand_expected") else ""
        return f"a mapping with keys {keys}{extra}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _plural(text: str) -> str:
    """'a string (templates allowed)' → 'strings (templates allowed)'."""
    for article in ("a ", "an "):
        if text.startswith(article):
            first, _, rest = text[len(article) :].partition(" ")
            return f"{first}s {rest}".rstrip()
    return text


def _template_hint(node: YNode) -> str:
    """YAML reads an unquoted ``{gpu0.uuid}`` as a mapping; say so."""
    if node.is_map and len(node.value) == 1:
        ((key, value),) = node.value.items()
        if value.value is None:
            return f'to write the template {{{key}}}, quote it: "{{{key}}}"'
    return ""


def parse(tp: Any, node: YNode, ctx: ParseCtx, what: str = "value") -> Any:
    """Parse ``node`` as type ``tp``; raise ScenarioError at the node's location."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return node.plain()
    if hasattr(tp, "from_yaml"):
        return tp.from_yaml(node, ctx)
    if origin in (Union, types.UnionType):
        if node.value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors: list[ScenarioError] = []
        for option in options:
            try:
                return parse(option, node, ctx, what)
            except ScenarioError as exc:
                errors.append(exc)
        if len(options) == 1:
            raise errors[0]
        raise _wrong(node, what, tp)
    if origin is Literal:
        if node.value in args and not node.is_map and not node.is_seq:
            return node.value
        hint = did_you_mean(str(node.value), [str(a) for a in args]) if isinstance(node.value, str) else ""
        raise ScenarioError(
            node.loc, f"{what} cannot be {node.kind()}", expected=describe(tp), suggestion=hint
        )
    if origin is list:
        if not node.is_seq:
            raise _wrong(node, what, tp)
        return [parse(args[0], item, ctx, f"item {i + 1} of {what}") for i, item in enumerate(node.value)]
    if origin is dict:
        if not node.is_map:
            raise _wrong(node, what, tp)
        return {k: parse(args[1], v, ctx, f"'{k}'") for k, v in node.value.items()}
    if dataclasses.is_dataclass(tp):
        return parse_dataclass(tp, node, ctx, what)
    return _scalar(tp, node, what)


def _wrong(node: YNode, what: str, tp: Any) -> ScenarioError:
    return ScenarioError(
        node.loc, f"{what} cannot be {node.kind()}", expected=describe(tp), suggestion=_template_hint(node)
    )


def _scalar(tp: Any, node: YNode, what: str) -> Any:
    value = node.value
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, bool):
            raise ScenarioError(
                node.loc,
                f"{what} cannot be {node.kind()}",
                expected="a string",
                suggestion=f'quote it ("{str(value).lower()}") if you mean the text',
            )
    raise _wrong(node, what, tp)


def parse_dataclass(cls: Any, node: YNode, ctx: ParseCtx, what: str = "value") -> Any:
    """A mapping into a dataclass: unknown keys get a close-match hint, missing ones are named."""
    if not node.is_map and hasattr(cls, "shorthand"):
        node = cls.shorthand(node, ctx)
        if not node.is_map:
            return node.value  # the shorthand built the object itself
    if not node.is_map:
        raise _wrong(node, what, cls)
    fields = yaml_fields(cls)
    by_key = dict(fields)
    type_hints = hints(cls)
    for key in node.value:
        if key not in by_key:
            raise ScenarioError(
                node.key_loc(key),
                f"unknown key '{key}' in {what}",
                expected=f"one of the keys {', '.join(by_key)}",
                suggestion=did_you_mean(key, by_key),
            )
    kwargs: dict[str, Any] = {}
    for key, f in fields:
        if key in node.value:
            kwargs[f.name] = parse(type_hints[f.name], node.value[key], ctx, f"'{key}'")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ScenarioError(
                node.loc,
                f"{what} is missing the required key '{key}'",
                expected=f"'{key}': {describe(type_hints[f.name])} ({f.metadata.get('doc', '')})",
            )
    obj = cls(**kwargs)
    if any(f.name == "loc" for f in dataclasses.fields(cls)):
        object.__setattr__(obj, "loc", node.loc)
    return obj


def wrap_as(node: YNode, key: str, value: Any) -> YNode:
    """A one-key mapping at ``node``'s place: what shorthands return."""
    return YNode(
        {key: value if isinstance(value, YNode) else wrap(value, node.loc)}, node.loc, {key: node.loc}
    )


def one_field_shorthand(
    key: str, expected: str
) -> tuple[classmethod[Any, Any, Any], classmethod[Any, Any, Any]]:
    """In a class body, ``shorthand, shorthand_expected = one_field_shorthand("by", "a duration")``
    accepts a bare value as the one-key mapping ``{by: value}`` (so ``advance: 5m`` reads naturally)."""

    def shorthand(cls: type, node: YNode, ctx: ParseCtx) -> YNode:
        return wrap_as(node, key, node)

    def shorthand_expected(cls: type) -> str:
        return expected

    return classmethod(shorthand), classmethod(shorthand_expected)


__all__ = [
    "Loc",
    "ParseCtx",
    "describe",
    "doc",
    "loc_field",
    "one_field_shorthand",
    "parse",
    "parse_dataclass",
    "wrap_as",
    "yaml_fields",
]
