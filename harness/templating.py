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

GPU_ATTRS = ("id", "uuid", "index", "minor", "pci_bus_id", "name", "numa_node", "numa")
MIG_ATTRS = ("id", "uuid", "index", "gi", "ci", "profile", "parent")
LISTS = ("devices", "healthy", "unhealthy")
PLAIN = ("socket_dir", "kubelet_socket", "nvml", "resource", "python", "scenario_dir", "devroot")
PROFILE_KEYS = (
    "name", "resource", "endpoint", "device_ids", "visible_devices", "config_flag",
    "register", "reregister", "health", "exit",
)  # fmt: skip

_DEVICE = re.compile(r"^gpu(-?\d+)(?:/mig(\d+))?(?:::(\d+))?(?:\.([a-z_]+))?$")
_COUNT = re.compile(
    r"^(?:gpus(?:\s*([-+])\s*(\d+))?|gpus\s*\*\s*(?P<scale>\d+)"
    r"|\(\s*gpus\s*([-+])\s*(\d+)\s*\)\s*\*\s*(?P<scaled>\d+))$"
)
_ALL = re.compile(r"^all_gpus(?:\.([a-z_]+))?$")
_PROFILE = re.compile(r"^profile\.([a-z_]+)$")
_LIST = re.compile(r"^(devices|healthy|unhealthy)(?:@(\S+))?$")
_ALLOCATED = re.compile(r"^allocated\.([^.@\s]+)\.([^.@\s]+)(?:@(\S+))?$")
_MATRIX = re.compile(r"^matrix\.([A-Za-z_][\w-]*)$")
_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_ONE_TEMPLATE = re.compile(r"\{[^{}\s:,]+\}")  # {name}, {gpu0.uuid}; never a mapping's braces


class TemplateError(ValueError):
    """A malformed template; ``hint`` says what to write instead."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class DeviceRef:
    """``gpuN[/migM][::R][.attr]``: a GPU, one of its MIG devices or one replica of it.

    ``N`` counts from the end when negative, as in Python: ``gpu-1`` is the node's last GPU.
    """

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
class CountRef:
    """``gpus``, ``gpus-1``, ``gpus*4``, ``(gpus-1)*4``: the node's GPU count, shifted then scaled."""

    shift: int = 0
    scale: int = 1

    def apply(self, count: int) -> int:
        return (count + self.shift) * self.scale


@dataclass(frozen=True)
class AllGpusRef:
    """``all_gpus[.attr]``: every GPU of the node, as device IDs (or one attribute each)."""

    attr: str | None = None


@dataclass(frozen=True)
class ProfileRef:
    """``profile.KEY``: a value of the plugin profile (its resource, endpoint, env var, bounds)."""

    key: str


@dataclass(frozen=True)
class MatrixRef:
    name: str


Expr = DeviceRef | ListRef | AllocatedRef | PlainRef | MatrixRef | CountRef | AllGpusRef | ProfileRef


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
    if m := _COUNT.match(body):
        sign, amount = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(5))
        shift = (-1 if sign == "-" else 1) * int(amount) if sign else 0
        return CountRef(shift, int(m.group("scale") or m.group("scaled") or 1))
    if m := _ALL.match(body):
        if m.group(1) is not None and m.group(1) not in GPU_ATTRS:
            hint = did_you_mean(m.group(1), GPU_ATTRS) or f"use one of {', '.join(GPU_ATTRS)}"
            raise TemplateError(f"'{body}' has no attribute '{m.group(1)}'", hint)
        return AllGpusRef(m.group(1))
    if m := _PROFILE.match(body):
        if m.group(1) not in PROFILE_KEYS:
            hint = did_you_mean(m.group(1), PROFILE_KEYS) or f"use one of {', '.join(PROFILE_KEYS)}"
            raise TemplateError(f"'{{{body}}}' is not a profile value", hint)
        return ProfileRef(m.group(1))
    if body.startswith("gpus") or body.startswith("(gpus"):
        raise TemplateError(
            f"'{body}' is not a GPU count", "write gpus, gpus-1, gpus+1, gpus*4 or (gpus-1)*4"
        )
    if body.startswith("gpu"):
        ref = parse_device(body)
        if ref is None:
            raise TemplateError(
                f"'{body}' is not a device alias",
                "write gpuN, gpu-1 (the last GPU), gpuN.uuid, gpuN::R (replica), gpuN/migM (MIG device) "
                "or gpus (the GPU count)",
            )
        return ref
    if m := _LIST.match(body):
        return ListRef(m.group(1), m.group(2))
    if m := _ALLOCATED.match(body):
        return AllocatedRef(m.group(1), m.group(2), m.group(3))
    if body in PLAIN:
        return PlainRef(body)
    names = [
        "gpu0.uuid", "gpu-1", "gpus", "gpus-1", "all_gpus", "profile.resource", "matrix.NAME",
        "allocated.POD.CONTAINER", *LISTS, *PLAIN,
    ]  # fmt: skip
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


def check_command(text: str) -> None:
    """Raise TemplateError if ``text`` is not a command line that :func:`render_argv` can split:
    empty, an unclosed quote or a trailing backslash, or a malformed template."""
    check(text)
    try:
        words = shlex.split(text)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        reason = str(exc)[0].lower() + str(exc)[1:]
        raise TemplateError(
            f"{reason} in the command line",
            "it is split into words as a shell would: close the quote, or escape it as \\' or \\\"",
        ) from None
    if not words:
        raise TemplateError(
            "the command line is empty", "give the plugin's command, e.g. '/usr/bin/plugin --flag'"
        )


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
    if isinstance(expr, CountRef):
        text = f"gpus{expr.shift:+d}" if expr.shift else "gpus"
        if expr.scale != 1:
            text = f"({text})*{expr.scale}" if expr.shift else f"{text}*{expr.scale}"
        return text
    if isinstance(expr, AllGpusRef):
        return "all_gpus" + (f".{expr.attr}" if expr.attr else "")
    if isinstance(expr, ProfileRef):
        return f"profile.{expr.key}"
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


def render_known(text: str, resolver: Resolver) -> str:
    """A message as the case saw it: each template in ``text`` ('{gpu0.uuid}') as its value now,
    and what is not a template (a description's own mapping braces) or does not resolve now (a
    failed case's pod that was never admitted) as written. For failure texts, never raises."""

    def one(found: re.Match[str]) -> str:
        try:
            return render(found.group(0), resolver)
        except Exception:  # any reason it cannot be said now: say it as written
            return found.group(0)

    return _ONE_TEMPLATE.sub(one, text)


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
