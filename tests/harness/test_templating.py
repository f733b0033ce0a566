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


def test_node_relative_templates_parse_and_print_back() -> None:
    from harness.templating import AllGpusRef, CountRef, ProfileRef, _unparse

    assert templating.parse_expr("gpu-1") == DeviceRef(-1, None, None, None)
    assert templating.parse_expr("gpu-2::1.uuid") == DeviceRef(-2, None, 1, "uuid")
    for text, count in (("gpus", 4), ("gpus-1", 3), ("gpus+2", 6), ("gpus*4", 16), ("(gpus-1)*4", 12)):
        expr = templating.parse_expr(text)
        assert isinstance(expr, CountRef) and expr.apply(4) == count
        assert templating.parse_expr(_unparse(expr)) == expr
    assert templating.parse_expr("all_gpus.index") == AllGpusRef("index")
    assert templating.parse_expr("profile.visible_devices") == ProfileRef("visible_devices")


@pytest.mark.parametrize(
    ("text", "hint"),
    [("gpus-1*4", "(gpus-1)*4"), ("profile.resorce", "did you mean 'resource'"), ("all_gpus.uid", "uuid")],
)
def test_a_malformed_node_template_says_what_to_write(text: str, hint: str) -> None:
    with pytest.raises(TemplateError) as info:
        templating.parse_expr(text)
    assert hint in info.value.hint


def test_a_command_line_renders_word_by_word_with_the_launchers_plain_values_first() -> None:
    values = templating.PlainValues({"socket_dir": "/var/lib/kubelet/device-plugins"}, Resolver())
    argv = templating.render_argv("plugin --socket-dir {socket_dir} --only '{gpu0.uuid} x'", values)
    assert argv == ["plugin", "--socket-dir", "/var/lib/kubelet/device-plugins", "--only", "<gpu0.uuid> x"]


def test_a_command_line_without_a_scenario_names_what_it_may_use() -> None:
    with pytest.raises(TemplateError, match="cannot be used here") as info:
        templating.render_argv("p {healthy}", templating.PlainValues({"nvml": "connect:/s"}))
    assert "{nvml}" in info.value.hint
