"""Files the plugin under test reads while it runs: its config file, rewritten mid-scenario.

NVIDIA's config-manager sidecar writes the selected config and then sends SIGHUP; a scenario
does the same with ``plugin_config:`` followed by ``plugin: sighup`` (or a kubelet restart).
"""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from harness.context import StepFailed
from harness.model.base import Step
from harness.model.registry import step
from harness.model.schema import doc

if TYPE_CHECKING:
    from harness.context import Ctx

CONFIG_NAME = "config.yaml"  # where the runner writes plugin.config


@step("plugin_config")
@dataclass
class PluginConfig(Step):
    """Replace the content of the plugin's config file (the file given with --config-file)."""

    content: Any = doc("the new content (a mapping, written as YAML), e.g. a new sharing section")

    def describe(self) -> str:
        return "rewrite the plugin's config file"

    def run(self, ctx: Ctx) -> None:
        if ctx.scenario.plugin.config is None:
            raise StepFailed("plugin_config needs a plugin.config to replace (the plugin has no config file)")
        path = os.path.join(ctx.paths.tmp, CONFIG_NAME)
        tmp = path + ".new"
        with open(tmp, "w", encoding="utf-8") as handle:
            yaml.safe_dump(_templated(ctx, self.content), handle)
        os.replace(tmp, path)  # as a sidecar would: the plugin never reads half a file


def _templated(ctx: Ctx, value: Any) -> Any:
    if isinstance(value, str):
        return ctx.t(value)
    if isinstance(value, dict):
        return {k: _templated(ctx, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_templated(ctx, v) for v in value]
    return value
