"""Safe YAML loading that keeps the source location of every value.

PyYAML's ``compose`` gives nodes with marks; we turn them into :class:`YNode` trees (plain
values plus a :class:`~harness.errors.Loc` each, and the location of every mapping key), so
that the validator can say ``file:line:col`` for any value, even after ``include:`` and
``matrix:`` have rearranged the tree. Only YAML's safe tags are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import Loc, ScenarioError


@dataclass
class YNode:
    """One YAML value: a scalar, ``dict[str, YNode]`` or ``list[YNode]``, with where it came from."""

    value: Any
    loc: Loc
    key_locs: dict[str, Loc] = field(default_factory=dict)

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    def plain(self) -> Any:
        """The value as plain Python data (dicts, lists, scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value

    def get(self, key: str) -> YNode | None:
        return self.value.get(key) if isinstance(self.value, dict) else None

    def key_loc(self, key: str) -> Loc:
        return self.key_locs.get(key, self.loc)

    def kind(self) -> str:
        """A short name of the YAML shape, for error messages."""
        if isinstance(self.value, dict):
            return "a mapping"
        if isinstance(self.value, list):
            return "a list"
        if self.value is None:
            return "nothing (null)"
        if isinstance(self.value, bool):
            return f"the boolean {str(self.value).lower()}"
        if isinstance(self.value, int | float):
            return f"the number {self.value}"
        return f"the string {self.value!r}"


def wrap(value: Any, loc: Loc) -> YNode:
    """Turn plain data into a YNode tree located at ``loc`` (for values made by the harness)."""
    if isinstance(value, dict):
        return YNode({str(k): wrap(v, loc) for k, v in value.items()}, loc)
    if isinstance(value, list):
        return YNode([wrap(v, loc) for v in value], loc)
    return YNode(value, loc)


def _loc(path: str, mark: yaml.Mark | None) -> Loc:
    if mark is None:
        return Loc(path, 0, 0)
    return Loc(path, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, path: str, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader

    def convert(self, node: yaml.Node) -> YNode:
        loc = _loc(self.path, node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.constructor.ConstructorError as exc:
                if "could not determine a constructor" in str(exc.problem):
                    raise ScenarioError(
                        loc, f"YAML tag {node.tag} is not allowed (scenarios are safe-loaded)"
                    ) from None
                raise ScenarioError(loc, f"cannot read this value: {exc.problem}") from None
            if not isinstance(value, str | int | float | bool | type(None)):
                # Timestamps and binary are safe YAML, but no scenario field takes them.
                value = node.value
            return YNode(value, loc)
        default = {yaml.SequenceNode: "tag:yaml.org,2002:seq", yaml.MappingNode: "tag:yaml.org,2002:map"}
        if type(node) in default and node.tag != default[type(node)]:
            raise ScenarioError(loc, f"YAML tag {node.tag} is not allowed (scenarios are safe-loaded)")
        if isinstance(node, yaml.SequenceNode):
            return YNode([self.convert(item) for item in node.value], loc)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        raise ScenarioError(loc, f"unsupported YAML node {type(node).__name__}")

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> YNode:
        values: dict[str, YNode] = {}
        key_locs: dict[str, Loc] = {}
        merged: list[YNode] = []
        for key_node, value_node in node.value:
            key_loc = _loc(self.path, key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.append(self.convert(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(key_loc, "a mapping key must be a plain name, not a list or mapping")
            key = str(self.loader.construct_object(key_node))
            if key in values:
                first = key_locs[key]
                raise ScenarioError(
                    key_loc,
                    f"duplicate key '{key}' (first given at line {first.line})",
                    suggestion="remove one of them; YAML would silently keep only the last",
                )
            values[key] = self.convert(value_node)
            key_locs[key] = key_loc
        for source in merged:  # YAML merge keys ("<<: *defaults"): explicit keys win
            for part in source.value if source.is_seq else [source]:
                if not part.is_map:
                    raise ScenarioError(part.loc, "a merge key ('<<') needs a mapping or a list of mappings")
                for key, value in part.value.items():
                    if key not in values:
                        values[key] = value
                        key_locs[key] = part.key_loc(key)
        return YNode(values, loc, key_locs)


def load_text(text: str, path: str) -> YNode:
    """Parse one YAML document (safe tags only) into a located tree."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YNode(None, Loc(path, 1, 1))
        return _Converter(path, loader).convert(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in problem:
            problem = f"tag {problem.split('tag')[-1].strip()} is not allowed (scenarios are safe-loaded)"
        raise ScenarioError(_loc(path, mark), f"YAML syntax error: {problem}") from None
    finally:
        loader.dispose()


def load_file(path: str | Path) -> YNode:
    """Read and parse a scenario (or fragment) file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(Loc(str(p), 0, 0), "file not found", snippet=False) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(Loc(str(p), 0, 0), f"cannot read the file: {exc}", snippet=False) from None
    return load_text(text, str(p))
