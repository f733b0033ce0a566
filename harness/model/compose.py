"""``include:`` and ``matrix:``: turning one scenario file into the trees of its cases.

Both work on located YAML trees, so every error after composition still points at the file
and line the text came from (a fragment's own line, not the including file's).

- Top-level ``include: [fragment.yaml, ...]`` merges fragments under the scenario: mappings
  merge key by key (the scenario wins), ``steps``, ``never`` and ``tags`` concatenate
  (the fragment's first).
- A step ``- include: fragment.yaml`` is replaced by the fragment's ``steps``.
- ``matrix: {name: [values...], exclude: [{name: value, ...}]}`` makes one case per
  combination; ``{matrix.name}`` anywhere in the file is replaced by the case's value (a
  string that is exactly one such template keeps the value's type).
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import limits
from harness.errors import Loc, ScenarioError, did_you_mean
from harness.loader import YNode, load_file, wrap

CONCATENATED = ("steps", "never", "tags")
_MATRIX_REF = re.compile(r"\{matrix\.([A-Za-z_][\w-]*)\}")


@dataclass
class Case:
    """One expanded case of a scenario file: its id ('' without a matrix), values and tree."""

    id: str
    values: dict[str, Any]
    tree: YNode


def _include_list(node: YNode) -> list[YNode]:
    if isinstance(node.value, str):
        return [node]
    if node.is_seq and all(isinstance(item.value, str) for item in node.value):
        return list(node.value)
    raise ScenarioError(
        node.loc,
        f"'include' cannot be {node.kind()}",
        expected="a fragment file name or a list of them (relative to this file)",
    )


def _load_fragment(ref: YNode, stack: tuple[str, ...]) -> YNode:
    base = Path(ref.loc.path).parent
    path = (base / str(ref.value)).resolve()
    if str(path) in stack:
        chain = " -> ".join(Path(p).name for p in (*stack, str(path)))
        raise ScenarioError(ref.loc, f"include cycle: {chain}")
    if not path.is_file():
        raise ScenarioError(
            ref.loc,
            f"included file '{ref.value}' not found (looked for {path})",
            suggestion=_near_fragment(base, str(ref.value)),
        )
    tree = load_file(path)
    if not tree.is_map:
        raise ScenarioError(tree.loc, f"a fragment must be a mapping, not {tree.kind()}")
    return resolve_includes(tree, (*stack, str(path)))


def _near_fragment(base: Path, ref: str) -> str:
    """'did you mean' among the YAML files of the folder the reference points into, written as the
    reference would be; nothing when no name there is close (an unrelated file is no help)."""
    folder = (base / ref).parent
    if not folder.is_dir():
        return f"there is no folder {folder}"
    prefix = str(Path(ref).parent)
    names = sorted(p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    close = difflib.get_close_matches(Path(ref).name, names, n=1, cutoff=0.75)
    if not close:
        return ""
    return f"did you mean '{close[0] if prefix == '.' else f'{prefix}/{close[0]}'}'?"


def _merge(base: YNode, over: YNode) -> YNode:
    """``over`` on top of ``base`` (both mappings)."""
    values = dict(base.value)
    key_locs = dict(base.key_locs)
    for key, value in over.value.items():
        if key in values and key in CONCATENATED and values[key].is_seq and value.is_seq:
            values[key] = YNode([*values[key].value, *value.value], value.loc)
        elif key in values and values[key].is_map and value.is_map:
            values[key] = _merge(values[key], value)
        else:
            values[key] = value
        key_locs[key] = over.key_loc(key)
    return YNode(values, over.loc, key_locs)


def _expand_step_includes(steps: YNode, stack: tuple[str, ...]) -> YNode:
    if not steps.is_seq:
        return steps
    out: list[YNode] = []
    for item in steps.value:
        if item.is_map and "include" in item.value:
            if len(item.value) != 1:
                other = next(k for k in item.value if k != "include")
                raise ScenarioError(
                    item.key_loc(other), f"a step that includes a fragment cannot also have '{other}'"
                )
            for ref in _include_list(item.value["include"]):
                fragment = _load_fragment(ref, stack)
                fragment_steps = fragment.get("steps")
                if fragment_steps is None or not fragment_steps.is_seq:
                    raise ScenarioError(ref.loc, f"'{ref.value}' has no 'steps:' list to include here")
                out.extend(fragment_steps.value)
        else:
            out.append(item)
    return YNode(out, steps.loc)


def resolve_includes(tree: YNode, stack: tuple[str, ...] = ()) -> YNode:
    """Apply top-level and step-level includes of a scenario or fragment tree."""
    if not tree.is_map:
        return tree
    if not stack:
        stack = (str(Path(tree.loc.path).resolve()),)
    result = tree
    if "steps" in tree.value:
        values = dict(tree.value)
        values["steps"] = _expand_step_includes(tree.value["steps"], stack)
        result = YNode(values, tree.loc, dict(tree.key_locs))
    include = result.get("include")
    if include is None:
        return result
    merged: YNode | None = None
    for ref in _include_list(include):
        fragment = _load_fragment(ref, stack)
        fragment = YNode(
            {k: v for k, v in fragment.value.items() if k != "include"}, fragment.loc, fragment.key_locs
        )
        merged = fragment if merged is None else _merge(merged, fragment)
    own = YNode({k: v for k, v in result.value.items() if k != "include"}, result.loc, result.key_locs)
    return _merge(merged, own) if merged is not None else own


def _substitute(node: YNode, values: dict[str, Any]) -> YNode:
    if isinstance(node.value, str) and "{matrix." in node.value:
        return YNode(_replace(node.value, values, node.loc), node.loc)
    if node.is_map:
        out = {}
        locs = {}
        for key, child in node.value.items():
            new_key = str(_replace(key, values, node.key_loc(key))) if "{matrix." in key else key
            out[new_key] = _substitute(child, values)
            locs[new_key] = node.key_loc(key)
        return YNode(out, node.loc, locs)
    if node.is_seq:
        return YNode([_substitute(item, values) for item in node.value], node.loc)
    return node


def _replace(text: str, values: dict[str, Any], loc: Loc) -> Any:
    def value_of(name: str) -> Any:
        if name not in values:
            hint = did_you_mean(name, values) or (
                f"the matrix defines {', '.join(values)}" if values else "this file has no 'matrix:'"
            )
            raise ScenarioError(loc, f"'{{matrix.{name}}}' is not a matrix variable", suggestion=hint)
        return values[name]

    whole = _MATRIX_REF.fullmatch(text)
    if whole:
        return value_of(whole.group(1))
    return _MATRIX_REF.sub(lambda m: str(value_of(m.group(1))), text)


def expand_matrix(tree: YNode) -> list[Case]:
    """The cases of a scenario tree: one per matrix combination (or one, id '', without a matrix)."""
    if not tree.is_map or "matrix" not in tree.value:
        return [Case("", {}, _substitute(tree, {}))]
    matrix = tree.value["matrix"]
    expected = (
        "a mapping of variable names to lists of values (e.g. {xid: [48, 79]}), and optionally exclude:"
    )
    if not matrix.is_map:
        raise ScenarioError(matrix.loc, f"'matrix' cannot be {matrix.kind()}", expected=expected)
    if not [name for name in matrix.value if name != "exclude"]:
        raise ScenarioError(
            matrix.loc,
            "'matrix' defines no variable, so it makes no case",
            expected=expected,
            suggestion="add a variable, or remove 'matrix:' for a single case",
        )
    axes: dict[str, list[Any]] = {}
    for name, values in matrix.value.items():
        if name == "exclude":
            continue
        if not re.fullmatch(r"[A-Za-z_][\w-]*", name):
            raise ScenarioError(
                matrix.key_loc(name),
                f"'{name}' is not a usable matrix variable name",
                expected="letters, digits, '_' or '-', starting with a letter",
            )
        if not values.is_seq or not values.value or any(v.is_map or v.is_seq for v in values.value):
            raise ScenarioError(
                values.loc,
                f"matrix variable '{name}' cannot be {values.kind()}",
                expected="a non-empty list of plain values",
            )
        axes[name] = [v.value for v in values.value]
    combinations = math.prod(len(values) for values in axes.values())
    if combinations > limits.MATRIX_CASES.value():  # counted before one case is built
        sizes = " x ".join(str(len(values)) for values in axes.values())
        raise ScenarioError(
            tree.key_loc("matrix"),
            limits.MATRIX_CASES.breach(f"'matrix' makes {sizes} = {combinations} combinations"),
        )
    excludes = _excludes(matrix.get("exclude"), axes)
    body = YNode({k: v for k, v in tree.value.items() if k != "matrix"}, tree.loc, tree.key_locs)
    chosen: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*axes.values()):
        values = dict(zip(axes, combo, strict=True))
        if any(all(values[k] == v for k, v in ex.items()) for ex in excludes):
            continue
        case_id = "-".join(str(v) for v in combo)
        if case_id in chosen:
            raise ScenarioError(
                tree.key_loc("matrix"),
                f"two matrix cases have the same id '{case_id}' ({chosen[case_id]} and {values}), "
                "so one's report would overwrite the other's",
                suggestion="make the values differ as text (a case id joins them with '-')",
            )
        chosen[case_id] = values
    if not chosen:
        raise ScenarioError(matrix.loc, "the matrix excludes every combination")
    return [Case(case_id, values, _substitute(body, values)) for case_id, values in chosen.items()]


def _excludes(node: YNode | None, axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    if node is None:
        return []
    if not node.is_seq or not all(item.is_map for item in node.value):
        raise ScenarioError(
            node.loc,
            f"'exclude' cannot be {node.kind()}",
            expected="a list of mappings of matrix variables to values",
        )
    out = []
    for item in node.value:
        for key in item.value:
            if key not in axes:
                raise ScenarioError(
                    item.key_loc(key), f"'{key}' is not a matrix variable", suggestion=did_you_mean(key, axes)
                )
        out.append(item.plain())
    return out


def compose(path: str | Path) -> list[Case]:
    """Load a scenario file and return its cases (includes applied, matrix expanded)."""
    tree = load_file(path)
    if not tree.is_map:
        raise ScenarioError(
            tree.loc,
            f"a scenario must be a mapping, not {tree.kind()}",
            expected="keys such as description, node, plugin, steps",
        )
    return expand_matrix(resolve_includes(tree))


__all__ = ["Case", "compose", "expand_matrix", "resolve_includes", "wrap"]
