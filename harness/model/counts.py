"""Counts written relative to the node: ``2``, or a template such as ``{gpus}`` or ``{gpus-1}``.

Why: a scenario that admits a pod for every GPU, or expects allocatable to drop by one, must
read the same on one GPU and on eight. A :class:`Count` keeps the text and renders it against
the running case; an int stays an int.
"""

from __future__ import annotations

from typing import Any

from harness import templating
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.numbers import Natural
from harness.templating import Resolver, TemplateError


class Count(str):
    """An integer, or a template that renders to one (``{gpus}``, ``{(gpus-1)*4}``, ``{matrix.n}``)."""

    @classmethod
    def yaml_expected(cls) -> str:
        return "a whole number, or a count template such as '{gpus}', '{gpus-1}' or '{gpus*4}'"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Count:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(str(Natural.from_yaml(node, ctx)))  # its range check
        if isinstance(value, str) and templating.has_template(value):
            try:
                templating.check(value)
            except TemplateError as exc:
                raise ScenarioError(node.loc, str(exc), suggestion=exc.hint) from None
            return cls(value)
        raise ScenarioError(node.loc, f"a count cannot be {node.kind()}", expected=cls.yaml_expected())

    def value(self, resolver: Resolver) -> int:
        text = templating.render(str(self), resolver)
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{self!s} is {text!r}, not a whole number") from None


def render_count(value: Any, resolver: Resolver) -> Any:
    """A matcher argument that may be a count template → its int; anything else unchanged."""
    if isinstance(value, str) and templating.has_template(value):
        text = templating.render(value, resolver)
        try:
            return int(text)
        except ValueError:
            return text
    return value
