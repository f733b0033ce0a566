"""Strings that may hold ``{...}`` templates, checked when the file loads."""

from __future__ import annotations

from typing import Any

from harness import templating
from harness.errors import Loc, ScenarioError
from harness.loader import YNode
from harness.templating import TemplateError


class Text(str):
    """A string field that may use templates (``{gpu0.uuid}``, ``{socket_dir}``, ...)."""

    @classmethod
    def yaml_expected(cls) -> str:
        return "a string (templates such as {gpu0.uuid} allowed)"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> Text:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            hint = ""
            if node.is_map and len(node.value) == 1:
                ((key, inner),) = node.value.items()
                if inner.value is None:
                    hint = f'to write the template {{{key}}}, quote it: "{{{key}}}"'
            raise ScenarioError(
                node.loc,
                f"expected a string here, not {node.kind()}",
                expected=cls.yaml_expected(),
                suggestion=hint,
            )
        text = str(value)
        check_templates(text, node.loc, ctx)
        return cls(text)


def check_templates(text: str, loc: Loc, ctx: Any = None) -> None:
    """Raise ScenarioError at ``loc`` for a malformed template, or for a device alias that the
    declared node (``ctx.node``, when the parser has one) does not have."""
    try:
        templating.check(text)
    except TemplateError as exc:
        raise ScenarioError(loc, str(exc), suggestion=exc.hint) from None
    declared = getattr(ctx, "node", None)
    if declared is not None:
        declared.check_text(text, loc)
