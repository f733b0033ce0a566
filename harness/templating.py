"""``{...}`` templates in scenario strings: matrix values, device aliases and live device lists.

Why templates: a scenario must read the same on 4 simulated H100s and on a real machine, so it
names devices by alias (``{gpu2.uuid}``, ``{gpu0::1}``, ``{gpu0/mig1.uuid}``) and the runner
resolves them against the node. ``{matrix.NAME}`` is replaced when a ``matrix:`` expands the
file; every other expression is resolved at run time by a :class:`Resolver` (the scenario's
context). ``{{`` and ``}}`` stand for literal braces. Syntax is checked at load time, so a typo
such as ``{gpu2.uid}`` is a ``file:line:col`` error, not a failure halfway through a run.

This is the one template engine: plugin command lines (``{socket_dir}``, ``{nvml}``) are
rendered here too, token by token (:func:`render_argv`), with the launcher's own values for
the plain names layered over the scenario's (:class:`PlainValues`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.errors import did_you_mean

GPU_ATTRS = ("id", "uuid", "index", "minor", "pci_bus_id", "name", "numa_node")
MIG_ATTRS = ("id", "uuid", "index", "gi", "ci", "profile", "parent")
LISTS = ("devices", "healthy", "unhealthy")
PLAIN = ("socket_dir", "kubelet_socket", "nvml", "resource", "python", "scenario_dir")

_DEVICE = re.compile(r"^gpu(\d+)(?:/mig(\d+))?(?:::(\d+))?(?:\.([a-z_]+))?$")
_LIST = re.compile(r"^(devices|healthy|unhealthy)(?:@(\S+))?$")
_ALLOCATED = re.compile(r"^allocated\.([^.@\s]+)\.([^.@\s]+)(?:@(\S+))?$")
_MATRIX = re.compile(r"^matrix\.([A-Za-z_][\w-]*)$")
_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A malformed template; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class DeviceRef:
    """``gpuN[/migM][::R][.attr]``: a GPU, one of its MIG devices or one replica of it."""

    gpu: int
    mig: int | None = None
    replica: int | None = None
    attr: str | None = None

    def __str__(self) -> str:
        text = f"gpu{self.gpu}"
        if self.mig is not None:
            text += f"/mig{self.mig}"
        if self.replica is not None:
            text += f"::{self.replica}"
        return text + (f".{self.attr}" if self.attr else "")


@dataclass(frozen=True)
class ListRef:
    """``healthy``/``unhealthy``/``devices`` (of a resource): device IDs as the kubelet sees them now."""

    which: str
    resource: str | None = None


@dataclass(frozen=True)
class AllocatedRef:
    """``allocated.POD.CONTAINER``: the device IDs the kubelet allocated to a container."""

    pod: str
    container: str
    resource: str | None = None


@dataclass(frozen=True)
class PlainRef:
    name: str


@dataclass(frozen=True)
class MatrixRef:
    name: str


Expr = DeviceRef | ListRef | AllocatedRef | PlainRef | MatrixRef


class Resolver(Protocol):
    def resolve(self, expr: Expr) -> str | list[str]: ...


def parse_device(text: str) -> DeviceRef | None:
    """``gpu2``, ``gpu0/mig1.uuid``, ``gpu0::3`` → DeviceRef; anything else → None."""
    m = _DEVICE.match(text.strip())
    if not m:
        return None
    gpu, mig, replica, attr = m.groups()
    ref = DeviceRef(
        int(gpu), None if mig is None else int(mig), None if replica is None else int(replica), attr
    )
    if attr is not None:
        allowed = MIG_ATTRS if ref.mig is not None else GPU_ATTRS
        if attr not in allowed:
            hint = did_you_mean(attr, allowed) or f"use one of {', '.join(allowed)}"
            raise TemplateError(f"'{text}' has no attribute '{attr}'", hint)
    return ref


def parse_expr(text: str) -> Expr:
    body = text.strip()
    if m := _MATRIX.match(body):
        return MatrixRef(m.group(1))
    if body.startswith("gpu"):
        ref = parse_device(body)
        if ref is None:
            raise TemplateError(
                f"'{body}' is not a device alias",
                "write gpuN, gpuN.uuid, gpuN::R (replica) or gpuN/migM (MIG device)",
            )
        return ref
    if m := _LIST.match(body):
        return ListRef(m.group(1), m.group(2))
    if m := _ALLOCATED.match(body):
        return AllocatedRef(m.group(1), m.group(2), m.group(3))
    if body in PLAIN:
        return PlainRef(body)
    names = ["gpu0.uuid", "matrix.NAME", "allocated.POD.CONTAINER", *LISTS, *PLAIN]
    raise TemplateError(
        f"unknown template '{{{body}}}'",
        did_you_mean(body, names) or f"templates are {', '.join('{' + n + '}' for n in names)}",
    )


def parts(text: str) -> list[str | Expr]:
    """Split a string into literal text and parsed expressions; raises TemplateError."""
    out: list[str | Expr] = []
    buf = ""
    pos = 0
    for m in _PART.finditer(text):
        buf += text[pos : m.start()]
        pos = m.end()
        token = m.group(0)
        if token == "{{":
            buf += "{"
        elif token == "}}":
            buf += "}"
        elif token in ("{", "}"):
            raise TemplateError(f"unbalanced '{token}' in {text!r}", "write {{ or }} for a literal brace")
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(parse_expr(m.group(1)))
    buf += text[pos:]
    if buf:
        out.append(buf)
    return out


def has_template(text: str) -> bool:
    return "{" in text or "}" in text


def check(text: str) -> None:
    """Raise TemplateError if ``text`` holds a malformed template."""
    if has_template(text):
        parts(text)


def substitute_matrix(text: str, values: dict[str, Any]) -> Any:
    """Replace ``{matrix.X}``; a string that is exactly one such template keeps the value's type."""
    if not has_template(text):
        return text
    pieces = parts(text)
    if len(pieces) == 1 and isinstance(pieces[0], MatrixRef):
        return _matrix_value(pieces[0], values)
    out = ""
    for piece in pieces:
        if isinstance(piece, MatrixRef):
            out += str(_matrix_value(piece, values))
        elif isinstance(piece, str):
            out += piece.replace("{", "{{").replace("}", "}}")
        else:
            out += "{" + _unparse(piece) + "}"
    return out


def _matrix_value(ref: MatrixRef, values: dict[str, Any]) -> Any:
    if ref.name not in values:
        hint = did_you_mean(ref.name, values) or (
            f"the matrix defines {', '.join(values)}" if values else "this file has no matrix:"
        )
        raise TemplateError(f"'{{matrix.{ref.name}}}' is not a matrix variable", hint)
    return values[ref.name]


def _unparse(expr: Expr) -> str:
    if isinstance(expr, DeviceRef):
        return str(expr)
    if isinstance(expr, ListRef):
        return expr.which + (f"@{expr.resource}" if expr.resource else "")
    if isinstance(expr, AllocatedRef):
        return f"allocated.{expr.pod}.{expr.container}" + (f"@{expr.resource}" if expr.resource else "")
    if isinstance(expr, PlainRef):
        return expr.name
    return f"matrix.{expr.name}"


def render(text: str, resolver: Resolver) -> str:
    """Resolve every template in ``text`` to a string (lists join with commas)."""
    if not has_template(text):
        return text
    out = []
    for piece in parts(text):
        if isinstance(piece, str):
            out.append(piece)
        else:
            value = resolver.resolve(piece)
            out.append(",".join(value) if isinstance(value, list) else str(value))
    return "".join(out)


def render_value(text: str, resolver: Resolver) -> str | list[str]:
    """Like :func:`render`, but a string that is exactly one list template stays a list."""
    if has_template(text):
        pieces = parts(text)
        if len(pieces) == 1 and not isinstance(pieces[0], str):
            return resolver.resolve(pieces[0])
    return render(text, resolver)


class PlainValues:
    """A resolver that answers plain names (``{socket_dir}``) from ``values`` and the rest from ``base``.

    A launcher uses it to say what ``{socket_dir}`` means for the process it starts (inside a
    private mount namespace: ``/var/lib/kubelet/device-plugins``) while device aliases and
    device lists still resolve against the scenario.
    """

    def __init__(self, values: Mapping[str, str], base: Resolver | None = None) -> None:
        self.values = values
        self.base = base

    def resolve(self, expr: Expr) -> str | list[str]:
        if isinstance(expr, PlainRef) and expr.name in self.values:
            return self.values[expr.name]
        if self.base is None:
            raise TemplateError(
                f"'{{{_unparse(expr)}}}' cannot be used here",
                f"use {', '.join('{' + name + '}' for name in self.values)}",
            )
        return self.base.resolve(expr)


def render_argv(command: str, resolver: Resolver) -> list[str]:
    """Split a command line as a shell would (no shell runs) and render the templates of each word.

    A value with spaces stays one argument: ``--socket-dir {socket_dir}`` is two words whatever
    the path holds.
    """
    return [render(word, resolver) for word in shlex.split(command)]
