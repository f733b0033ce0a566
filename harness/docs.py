"""The language reference, generated from the models (``python -m harness schema``).

``docs/scenarios.md`` embeds this output between markers; a test checks it is current, so
the docs cannot drift from the parser.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from harness.limits import LIMITS
from harness.model import registry
from harness.model.matcher import OPERATORS
from harness.model.scenario import KubeletSpec, NodeSpec, PluginSpec, Requires, Scenario
from harness.model.schema import describe, hints, yaml_fields
from harness.templating import GPU_ATTRS, MIG_ATTRS

BEGIN = "<!-- BEGIN GENERATED REFERENCE (python -m harness schema) -->"
END = "<!-- END GENERATED REFERENCE -->"


def _doc(obj: object) -> str:
    return " ".join((inspect.getdoc(obj) or "").split("\n\n")[0].split())


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        if f.default is None or f.default == "":
            return ""
        return f"`{str(f.default).lower()}`" if isinstance(f.default, bool) else f"`{f.default}`"
    if f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
        return "" if not value or dataclasses.is_dataclass(value) else f"`{value}`"
    return "**required**"


def table(cls: type) -> list[str]:
    """The reference table of a model class: its YAML keys, types, defaults and meaning."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    types = hints(cls)
    for key, f in yaml_fields(cls):
        text = f.metadata.get("doc", "")
        rows.append(f"| `{key}` | {describe(types[f.name])} | {_default(f)} | {text} |".replace("\n", " "))
    return rows


def reference() -> str:
    registry.load_all()
    out = [BEGIN, "", "### Scenario file", "", _doc(Scenario), "", *table(Scenario)]
    sections: tuple[tuple[str, type], ...] = (
        ("node", NodeSpec),
        ("kubelet", KubeletSpec),
        ("plugin", PluginSpec),
        ("requires", Requires),
    )
    for title, cls in sections:
        out += ["", f"### `{title}:`", "", _doc(cls), ""]
        shorthand = getattr(cls, "shorthand_expected", None)
        if shorthand:
            out += [f"Shorthand: {shorthand()}.", ""]
        out += table(cls)
    out += [
        "",
        "### Steps",
        "",
        "Each step is a mapping with one of these keys, plus optional `name:` "
        "(shown in reports) and `at:` (run at this scenario time; earlier time is skipped forward). "
        "`- include: fragment.yaml` splices the fragment's steps.",
        "",
    ]
    for key, step_cls in sorted(registry.STEPS.items()):
        out += _entry(key, step_cls)
    out += ["", "### Conditions (in `expect:` and `never:`)", ""]
    for key, condition_cls in sorted(registry.CONDITIONS.items()):
        out += _entry(key, condition_cls)
    out += [
        "",
        "### Matcher operators",
        "",
        "Where a condition takes a matcher: a plain value means equal (after templating), a list "
        "means exactly these items in order, a mapping of keys means at least these keys; a mapping "
        "of operators (all must hold) uses: " + ", ".join(f"`{o}`" for o in OPERATORS) + ".",
        "",
        "### Templates",
        "",
        "`{gpuN}` (device ID = UUID), `{gpuN.ATTR}` with ATTR in "
        + ", ".join(GPU_ATTRS)
        + "; `{gpuN::R}` (replica R); `{gpuN/migM}` and `{gpuN/migM.ATTR}` with ATTR in "
        + ", ".join(MIG_ATTRS)
        + "; `{healthy}`, `{unhealthy}`, `{devices}` (optionally `@resource`); "
        "`{allocated.POD.CONTAINER}`; `{socket_dir}`, `{kubelet_socket}`, `{resource}`; "
        "`{matrix.NAME}` (replaced when the matrix expands). `{{` and `}}` are literal braces.",
        "",
        "### Limits",
        "",
        "Budgets checked before the work they bound; an environment variable raises one.",
        "",
        "| limit | default | environment variable |",
        "|---|---|---|",
        *(f"| {limit.what} | {limit.default} | `{limit.env}` |" for limit in LIMITS),
        "",
        END,
    ]
    return "\n".join(out)


def _entry(key: str, cls: type) -> list[str]:
    out = [f"#### `{key}`", "", _doc(cls), ""]
    shorthand = getattr(cls, "shorthand_expected", None)
    if shorthand:
        out += [f"Shorthand: {shorthand()}.", ""]
    if dataclasses.is_dataclass(cls) and yaml_fields(cls) and "from_yaml" not in cls.__dict__:
        out += [*table(cls), ""]
    elif hasattr(cls, "yaml_expected"):
        out += [f"Value: {cls.yaml_expected()}.", ""]
    elif dataclasses.is_dataclass(cls):
        out += [*table(cls), ""]
    return out
