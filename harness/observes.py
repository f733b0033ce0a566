"""What a case observes, and so which plugins it can judge.

Every scenario carries exactly one of three tags:

- ``conformance``: black-box. It observes only what a kubelet sees of the plugin under test
  (Register, ListAndWatch device sets and health over time, Allocate / GetPreferredAllocation /
  PreStartContainer answers and errors, re-registration, exit codes, sockets) plus what the
  simulated node saw of the plugin's NVML use. Any plugin with a profile can run it; a step that
  also reads our plugin's log lines is gated on ``our-log-lines`` and skipped for others.
- ``white-box``: it reads our plugin's log lines or tests our extensions, and needs an ``our-*``
  feature, so it skips with the reason under another plugin's profile.
- ``own-plugin``: it runs a plugin the case names itself (``plugin.command``, ``plugin.image`` or
  ``plugin.manifest``): a stub that exercises the kubelet's side, or our image to exercise the
  container launcher; the plugin under test plays no part, and ``--plugin-cmd`` skips it.

:func:`problems` checks a case against its tag; ``tests/harness/test_observes.py`` runs it over
the library, so the tags cannot drift from what the cases do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.features import is_ours

CLASSES = ("conformance", "white-box", "own-plugin")


def observation_class(scenario: Any) -> str | None:
    """The case's class tag (None when it has none, or several: :func:`problems` says which)."""
    found = [t for t in scenario.tags if t in CLASSES]
    return found[0] if len(found) == 1 else None


def _reads_plugin_output(condition: Any) -> bool:
    if condition.key == "log":
        return True
    if condition.key == "event":
        return condition.source == "plugin" and condition.kind in (None, "log")
    return False


def plugin_output_reads(scenario: Any) -> Iterator[str]:
    """Where an ungated part of the case reads the plugin's own output (its log lines)."""
    for call in scenario.steps:
        if any(is_ours(f) for f in call.requires):
            continue  # gated: only plugins whose profile claims our vocabulary run it
        conditions = getattr(call.step, "conditions", None)
        for cond in getattr(conditions, "conditions", []):
            if _reads_plugin_output(cond):
                yield f"{call.title()} ({call.loc}) reads the plugin's {cond.key}"
    for cset in scenario.never:
        for cond in cset.conditions:
            if _reads_plugin_output(cond):
                yield f"never: {cond.key} ({cset.loc}) reads the plugin's output"


def problems(scenario: Any) -> list[str]:
    """Why the case's tag does not fit what it does (empty when it fits)."""
    tags = [t for t in scenario.tags if t in CLASSES]
    if len(tags) != 1:
        return [f"needs exactly one of the tags {', '.join(CLASSES)}, has {tags or 'none'}"]
    kind = tags[0]
    ours = [f for f in scenario.requires.features if is_ours(f)]
    out: list[str] = []
    own = (
        scenario.plugin.command
        or getattr(scenario.plugin, "image", None)
        or getattr(scenario.plugin, "manifest", None)
    )
    if kind == "own-plugin":
        if not own:
            out.append("an own-plugin case runs its own plugin: give plugin.command, image or manifest")
        return out
    if kind == "white-box":
        if not ours:
            out.append("a white-box case must require an our-* feature, so it skips under other plugins")
        return out
    if own:
        out.append("a conformance case tests the plugin under test: it cannot name a plugin of its own")
    if ours:
        out.append(f"a conformance case cannot require our extensions ({', '.join(ours)})")
    out.extend(plugin_output_reads(scenario))
    return out
