"""The node a case declares, built at load time, so that what it settles is checked before a run.

Why at load time: ``{gpu9.uuid}`` on a 4-GPU node, ``gpu: gpu7``, ``gpu0/mig2`` on a GPU with two
MIG devices, an unknown product or a 0-GPU node are certain failures, and the declared node is
cheap to build (well under a millisecond for 8 GPUs). Building it here, with the same
``FakeNVML`` and MIG layout the runner will use, gives ``file:line:col`` errors from the same
alias table (:class:`~harness.devices.DeviceTable`) that resolves them at run time.

The parser reaches the declared node through ``ParseCtx.node``: every template string is
checked (see :func:`harness.model.text.check_templates`), and fields typed :class:`DeviceText`
also check a bare alias such as ``gpu7``.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from harness import limits, templating
from harness.devices import AliasError, DeviceTable
from harness.errors import UNKNOWN, Loc, ScenarioError
from harness.loader import YNode
from harness.model.text import Text
from harness.templating import DeviceRef, TemplateError


class DeclaredNode:
    """The GPUs (with their MIG devices) of a case's simulated node, for alias checks."""

    def __init__(self, gpus: tuple[Any, ...], what: str) -> None:
        self.gpus = gpus
        self.what = what  # the spec as written, for messages: node: 4xH100
        self.table = DeviceTable(lambda: self.gpus)

    def check_text(self, text: str, loc: Loc) -> None:
        """Every device alias in ``text``'s templates names a device of this node (templates are
        already known to parse)."""
        if not templating.has_template(text):
            return
        for piece in templating.parts(text):
            if isinstance(piece, DeviceRef):
                self._check(piece, loc)

    def check_device(self, text: str, loc: Loc) -> None:
        """A device reference: a template, a bare alias (``gpu7``, ``gpu0/mig1``) or a literal ID."""
        self.check_text(text, loc)
        try:
            ref = templating.parse_device(text)
        except TemplateError:
            return  # not an alias (the field's own check reports a bad attribute)
        if ref is not None:
            self._check(ref, loc)

    def _check(self, ref: DeviceRef, loc: Loc) -> None:
        try:
            self.table.value(DeviceRef(ref.gpu, ref.mig, None, ref.attr))
        except AliasError as exc:
            raise ScenarioError(loc, f"{exc}, as declared by node: {self.what}") from None


def declared_node(spec: Any) -> DeclaredNode:
    """Build the node a :class:`~harness.model.scenario.NodeSpec` declares (within the GPU budget),
    or raise ScenarioError at the spec."""
    from fake_nvml.profile import ProfileError, TooManyGpus

    source = spec.source()
    what = spec.spec if isinstance(spec.spec, str) else "(inline profile)"
    if spec.loc == UNKNOWN:
        what += " (the default)"
    stamp = os.stat(source).st_mtime_ns if isinstance(source, str) and os.path.isfile(source) else 0
    try:
        gpus = _snapshot(
            json.dumps(source, sort_keys=True, default=str),
            json.dumps(spec.seed),
            json.dumps(spec.mig, sort_keys=True),
            limits.NODE_GPUS.value(),
            stamp,
        )
    except TooManyGpus as exc:
        raise ScenarioError(
            spec.loc, limits.NODE_GPUS.breach(f"node {what} has {exc.gpus} GPUs", exc.limit)
        ) from None
    except _MigLayoutError as exc:
        raise ScenarioError(spec.loc, f"cannot set the MIG layout of {exc.alias}: {exc.__cause__}") from None
    except (ProfileError, ValueError, OSError) as exc:
        raise ScenarioError(spec.loc, f"the node {what} cannot be built: {exc}") from None
    return DeclaredNode(gpus, what)


class _MigLayoutError(Exception):
    def __init__(self, alias: str) -> None:
        super().__init__(alias)
        self.alias = alias


@functools.lru_cache(maxsize=32)
def _snapshot(source: str, seed: str, mig: str, max_gpus: int, stamp: int) -> tuple[Any, ...]:
    """NodeGpu snapshots of a node built and closed again (cached: a matrix repeats its node)."""
    from fake_nvml import FakeNVML

    node = FakeNVML.from_spec(json.loads(source), seed=json.loads(seed), max_gpus=max_gpus)
    try:
        table = DeviceTable(lambda: node.gpus)
        for alias, profiles in json.loads(mig).items():
            try:
                node.enable_mig(table.gpu_index(alias), profiles)
            except (ValueError, LookupError) as exc:
                raise _MigLayoutError(alias) from exc
        return tuple(node.gpus)
    finally:
        node.close()


class DeviceText(Text):
    """A string naming a device: an alias (``gpu2``, ``gpu0/mig1``), a template, or a literal ID."""

    @classmethod
    def yaml_expected(cls) -> str:
        return "a reference to a device (an alias such as gpu2 or gpu0/mig1, a template, or an ID)"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> DeviceText:
        text = Text.from_yaml(node, ctx)
        declared = getattr(ctx, "node", None)
        if declared is not None:
            declared.check_device(str(text), node.loc)
        return cls(text)


class GpuText(DeviceText):
    """A string naming a GPU: an alias (``gpu2``), an index (``2``) or a UUID."""

    @classmethod
    def yaml_expected(cls) -> str:
        return "a GPU (an alias such as gpu2, an index or a UUID; templates allowed)"

    @classmethod
    def from_yaml(cls, node: YNode, ctx: Any = None) -> GpuText:
        text = DeviceText.from_yaml(node, ctx)
        declared = getattr(ctx, "node", None)
        if declared is not None and text.isdigit():
            declared.check_device(f"gpu{int(text)}", node.loc)
        return cls(text)
