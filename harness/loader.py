"""Safe YAML loading that keeps the source location of every value.

PyYAML's ``compose`` gives nodes with marks; we turn them into :class:`YNode` trees (plain
values plus a :class:`~harness.errors.Loc` each, and the location of every mapping key), so
that the validator can say ``file:line:col`` for any value, even after ``include:`` and
``matrix:`` have rearranged the tree. Only YAML's safe tags are accepted, and the budgets of
:mod:`harness.limits` (file size, nesting depth, values repeated through aliases) hold.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness import limits
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


def _loc(path: str, mark: Any) -> Loc:
    if mark is None:
        return Loc(path, 0, 0)
    return Loc(path, mark.line + 1, mark.column + 1)


# libyaml's parser (pyyaml's C extension) reads a 5 MB file in well under a second; the pure-Python
# one takes tens of seconds. Both give the same events and marks, so the tree is the same.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_DEFAULT_TAG = {
    yaml.SequenceStartEvent: "tag:yaml.org,2002:seq",
    yaml.MappingStartEvent: "tag:yaml.org,2002:map",
}
_MERGE = "tag:yaml.org,2002:merge"
# '<<' is a merge key only as a mapping key, and YAML 1.1's '=' (the "value" key) means nothing
# to a scenario: both are read as text where they are values.
_AS_TEXT = frozenset({_STR, _MERGE, "tag:yaml.org,2002:value"})
# What YAML 1.1 forbids in a stream (pyyaml's reader refuses these without a line number).
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class _Item:
    """A finished value with what its parent needs to know: its expanded size and YAML tag."""

    node: YNode
    size: int  # values it stands for once aliases are expanded (itself included)
    tag: str
    scalar: bool


@dataclass
class _Open:
    """A list or mapping whose end event has not come yet."""

    event: Any
    loc: Loc
    seq: bool
    items: list[YNode] = field(default_factory=list)
    values: dict[str, YNode] = field(default_factory=dict)
    key_locs: dict[str, Loc] = field(default_factory=dict)
    merged: list[YNode] = field(default_factory=list)
    key: _Item | None = None
    size: int = 1


class _Composer:
    """Builds the located tree straight from the parser's events, without recursion.

    Why not pyyaml's composer: it recurses (a 5,000-deep list is a RecursionError), expands
    aliases without bound (a billion-laughs file takes minutes and gigabytes) and, in its C
    form, cannot be stopped early. Here nesting depth and the values repeated through aliases
    are counted as the events arrive, and each budget fails at the place that breaks it.
    """

    def __init__(self, path: str, loader: Any) -> None:
        self.path = path
        self.loader = loader
        self.max_depth = limits.YAML_DEPTH.value()
        self.max_alias = limits.ALIAS_VALUES.value()
        self.anchors: dict[str, _Item] = {}
        self.open_anchors: set[str] = set()
        self.alias_values = 0
        # pyyaml's resolver tries the resolvers of a scalar's first character, then those of None.
        wildcard = loader.yaml_implicit_resolvers.get(None, [])
        self.implicit = {
            k: [*v, *wildcard] for k, v in loader.yaml_implicit_resolvers.items() if k is not None
        }
        self.wildcard = wildcard

    def document(self) -> YNode | None:
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        root = self._root()
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            extra = loader.get_event()
            raise ScenarioError(
                _loc(self.path, extra.start_mark),
                "a scenario file holds one YAML document, but a second one starts here",
                suggestion="remove the '---' line (or split the file in two)",
            )
        return root.node

    def documents(self) -> list[YNode]:
        """Each document of the stream (anchors are each document's own)."""
        loader, out = self.loader, []
        loader.get_event()  # stream start
        while not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # document start
            self.anchors, self.open_anchors = {}, set()
            out.append(self._root().node)
            loader.get_event()  # document end
        return out

    def _root(self) -> _Item:
        stack: list[_Open] = []
        path, get_event = self.path, self.loader.get_event
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                item = self._scalar(event, Loc(path, event.start_mark.line + 1, event.start_mark.column + 1))
                if event.anchor is not None:
                    self._anchored(event.anchor, item)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                loc = Loc(path, event.start_mark.line + 1, event.start_mark.column + 1)
                if event.tag not in (None, "!", _DEFAULT_TAG[kind]):
                    raise ScenarioError(
                        loc, f"YAML tag {event.tag} is not allowed (scenarios are safe-loaded)"
                    )
                if len(stack) >= self.max_depth:
                    depth = len(stack) + 1
                    raise ScenarioError(
                        loc, limits.YAML_DEPTH.breach(f"lists and mappings nest {depth} levels deep here")
                    )
                if event.anchor is not None:
                    self.open_anchors.add(event.anchor)
                stack.append(_Open(event, loc, kind is yaml.SequenceStartEvent))
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                done = stack.pop()
                item = self._close(done)
                if done.event.anchor is not None:
                    self._anchored(done.event.anchor, item)
            elif kind is yaml.AliasEvent:
                item = self._alias(event, _loc(path, event.start_mark))
            else:  # pragma: no cover - the parser yields nothing else inside a document
                raise ScenarioError(_loc(path, event.start_mark), f"unexpected YAML event {kind.__name__}")
            if not stack:
                return item
            self._add(stack[-1], item)

    def _scalar(self, event: Any, loc: Loc) -> _Item:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self._resolve(event)
        if tag in _AS_TEXT:
            return _Item(YNode(event.value, loc), 1, tag, True)
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None:
            raise ScenarioError(loc, f"YAML tag {tag} is not allowed (scenarios are safe-loaded)")
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = construct(self.loader, node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. an int of 5,000 digits
            problem = getattr(exc, "problem", None) or str(exc)
            raise ScenarioError(loc, f"cannot read this value: {problem}") from None
        if not isinstance(value, str | int | float | bool | type(None)):
            # Timestamps and binary are safe YAML, but no scenario field takes them.
            value = event.value
        return _Item(YNode(value, loc), 1, tag, True)

    def _resolve(self, event: Any) -> str:
        """The implicit tag of a plain scalar, as pyyaml's resolver finds it (inlined: it is hot)."""
        if not event.implicit[0]:
            return _STR
        value = event.value
        for tag, regexp in self.implicit.get(value[:1], self.wildcard):
            if regexp.match(value):
                return str(tag)
        return _STR

    def _anchored(self, anchor: str, item: _Item) -> None:
        self.anchors[anchor] = item
        self.open_anchors.discard(anchor)

    def _alias(self, event: Any, loc: Loc) -> _Item:
        name = event.anchor
        if name in self.open_anchors:
            raise ScenarioError(loc, f"alias *{name} refers to the list or mapping that contains it")
        if name not in self.anchors:
            raise ScenarioError(loc, f"alias *{name} names no anchor (write &{name} on a value above it)")
        item = self.anchors[name]
        self.alias_values += item.size
        if self.alias_values > self.max_alias:
            raise ScenarioError(
                loc,
                limits.ALIAS_VALUES.breach(
                    f"alias *{name} repeats {item.size} values, {self.alias_values} through aliases so far"
                ),
                suggestion="is this a YAML alias bomb? a scenario rarely repeats more than a few steps",
            )
        return item

    def _add(self, parent: _Open, item: _Item) -> None:
        parent.size += item.size
        if parent.seq:
            parent.items.append(item.node)
            return
        key = parent.key
        if key is None:
            parent.key = item
            return
        parent.key = None
        if key.tag == _MERGE:
            parent.merged.append(item.node)
            return
        if not key.scalar:
            raise ScenarioError(key.node.loc, "a mapping key must be a plain name, not a list or mapping")
        name = str(key.node.value)
        if name in parent.values:
            first = parent.key_locs[name]
            raise ScenarioError(
                key.node.loc,
                f"duplicate key '{name}' (first given at line {first.line})",
                suggestion="remove one of them; YAML would silently keep only the last",
            )
        parent.values[name] = item.node
        parent.key_locs[name] = key.node.loc

    def _close(self, done: _Open) -> _Item:
        tag = _DEFAULT_TAG[type(done.event)]
        if done.seq:
            return _Item(YNode(done.items, done.loc), done.size, tag, False)
        values, key_locs = done.values, done.key_locs
        for source in done.merged:  # YAML merge keys ("<<: *defaults"): explicit keys win
            for part in source.value if source.is_seq else [source]:
                if not part.is_map:
                    raise ScenarioError(part.loc, "a merge key ('<<') needs a mapping or a list of mappings")
                for key, value in part.value.items():
                    if key not in values:
                        values[key] = value
                        key_locs[key] = part.key_loc(key)
        return _Item(YNode(values, done.loc, key_locs), done.size, tag, False)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a large tree is built.

    The trees are acyclic, so a collection finds nothing; but with a million young objects
    each full collection rescans them all, which costs most of the time of a 5 MB file.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def load_text(text: str, path: str) -> YNode:
    """Parse one YAML document (safe tags only) into a located tree, within the budgets."""
    if bad := _NOT_PRINTABLE.search(text):
        line, col = _line_col(text, bad.start())
        raise ScenarioError(
            Loc(path, line, col),
            f"character U+{ord(bad.group()):04X} is not allowed in YAML",
            suggestion="remove it (YAML allows tabs, newlines and printable characters only)",
        )
    loader = _LOADER(text)
    try:
        with paused_gc():
            node = _Composer(path, loader).document()
        return node if node is not None else YNode(None, Loc(path, 1, 1))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own bound (1000), met while it scans ahead
            message = limits.YAML_DEPTH.breach("lists and mappings nest over 1000 levels deep here")
            raise ScenarioError(_loc(path, mark), message) from None
        raise ScenarioError(_loc(path, mark), f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:  # pragma: no cover - the printable check above comes first
        raise ScenarioError(Loc(path, 1, 1), f"cannot read the file as YAML: {exc}") from None
    finally:
        loader.dispose()


def load_bytes(data: bytes, path: str) -> YNode:
    """Decode a file's bytes as UTF-8 (an undecodable byte is located) and parse them."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise ScenarioError(
            Loc(path, line, col),
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded here",
            suggestion="save the file as UTF-8",
        ) from None
    return load_text(text, path)


def load_documents(text: str, path: str) -> list[YNode]:
    """Every document of a multi-document stream (``---``; Kubernetes manifests), as :func:`load_text`
    reads one: located, safe tags only, within the same budgets."""
    loader = _LOADER(text)
    try:
        with paused_gc():
            return _Composer(path, loader).documents()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError(_loc(path, mark), f"YAML syntax error: {exc.problem or exc.context}") from None
    finally:
        loader.dispose()


def load_file(path: str | Path) -> YNode:
    """Read and parse a scenario (or fragment) file; its size is checked before it is read."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > (limit := limits.FILE_BYTES.value()):
            raise ScenarioError(
                Loc(str(p), 1, 1),
                limits.FILE_BYTES.breach(f"the file has {size} bytes", limit),
                snippet=False,
            )
        data = p.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(Loc(str(p), 0, 0), "file not found", snippet=False) from None
    except IsADirectoryError:
        raise ScenarioError(
            Loc(str(p), 0, 0), "this is a folder, not a scenario file", snippet=False
        ) from None
    except OSError as exc:
        raise ScenarioError(
            Loc(str(p), 0, 0), f"cannot read the file: {exc.strerror or exc}", snippet=False
        ) from None
    return load_bytes(data, str(p))
