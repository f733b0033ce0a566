from __future__ import annotations

import pytest

from harness import templating
from harness.templating import DeviceRef, ListRef, TemplateError


class Resolver:
    def resolve(self, expr):
        if isinstance(expr, ListRef):
            return ["a", "b"]
        return f"<{expr}>"


def test_device_aliases_parse_gpu_mig_replica_and_attribute() -> None:
    assert templating.parse_expr("gpu2.uuid") == DeviceRef(2, None, None, "uuid")
    assert templating.parse_expr("gpu0/mig1") == DeviceRef(0, 1, None, None)
    assert templating.parse_expr("gpu0::3") == DeviceRef(0, None, 3, None)


def test_unknown_attribute_suggests_the_close_one() -> None:
    with pytest.raises(TemplateError) as info:
        templating.parse_expr("gpu2.uid")
    assert "did you mean 'uuid'" in info.value.hint


def test_unknown_template_lists_what_exists() -> None:
    with pytest.raises(TemplateError, match="unknown template") as info:
        templating.check("{helthy}")
    assert "did you mean 'healthy'" in info.value.hint


def test_render_joins_lists_and_keeps_literal_braces() -> None:
    assert templating.render("x={gpu1.uuid} h={healthy} {{lit}}", Resolver()) == "x=<gpu1.uuid> h=a,b {lit}"
    assert templating.render_value("{healthy}", Resolver()) == ["a", "b"]


def test_an_unbalanced_brace_is_an_error_with_the_fix() -> None:
    with pytest.raises(TemplateError) as info:
        templating.check("a { b")
    assert "{{" in info.value.hint
