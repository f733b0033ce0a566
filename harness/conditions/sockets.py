"""A condition on the socket dir itself: which plugin sockets exist there (as a kubelet would find them)."""

# ruff: noqa: RUF009  (doc() returns dataclasses.field(...) with documentation)
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.loader import YNode
from harness.model.base import Condition, Verdict
from harness.model.matcher import Matcher
from harness.model.registry import condition
from harness.model.schema import ParseCtx, doc

if TYPE_CHECKING:
    from harness.context import Ctx

KUBELET_SOCKET = "kubelet.sock"


def plugin_sockets(socket_dir: str) -> list[str]:
    """The unix sockets in ``socket_dir`` other than the kubelet's own, sorted by name."""
    found = []
    try:
        names = os.listdir(socket_dir)
    except OSError:
        return []
    for name in names:
        if name == KUBELET_SOCKET:
            continue
        try:
            if stat.S_ISSOCK(os.lstat(os.path.join(socket_dir, name)).st_mode):
                found.append(name)
        except OSError:
            continue  # removed between listdir and lstat
    return sorted(found)


@condition("plugin_sockets")
@dataclass
class PluginSockets(Condition):
    """The plugin sockets (unix sockets other than kubelet.sock) in the socket dir: ``plugin_sockets: []``.

    Evaluated when the observation log changes (a plugin exits, the kubelet sees a stream end),
    so wait for such an event in the same ``expect``.
    """

    names: Matcher = doc("the socket file names, e.g. [] (none left) or {count: 1}")

    @classmethod
    def from_yaml(cls, node: YNode, ctx: ParseCtx) -> Condition:
        cond = cls(Matcher.from_yaml(node, ctx))  # the value is the matcher, also when a mapping
        cond.loc = node.loc
        return cond

    @classmethod
    def yaml_expected(cls) -> str:
        return "a matcher of the socket file names, e.g. [] or {count: 1}"

    def describe(self) -> str:
        return self.names.describe()

    def evaluate(self, ctx: Ctx) -> Verdict:
        names = plugin_sockets(ctx.paths.socket_dir)
        why = self.names.match(names, ctx)
        return Verdict(why is None, f"plugin sockets {names}" + (f" ({why})" if why else ""))
