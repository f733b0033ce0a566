"""The generated half of ``docs/conformance.md``: features, profiles, and every behaviour the library pins.

Generated from the code and the scenarios themselves (the feature table, the profile model, the
shipped profiles, each scenario's ``description``, ``source``, class tag and needs), so the
guide can never drift from the library: ``python -m harness conformance`` prints the block
between the markers, and ``tests/harness/test_conformance.py`` fails when the committed file is
stale. Each scenario must name where its behaviour comes from, starting with one of :data:`SOURCES`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from harness.features import FEATURES
from harness.model.scenario import Scenario
from harness.observes import observation_class
from harness.profiles import load_profile, shipped

BEGIN = "<!-- BEGIN GENERATED (python -m harness conformance) -->"
END = "<!-- END GENERATED -->"

# Prefix of a scenario's `source:` → the section of the table it belongs to.
SOURCES: dict[str, str] = {
    "kubelet": "The kubelet's device manager",
    "nvidia plugin": "NVIDIA's k8s-device-plugin",
    "our rule": "Our own rules (where we go beyond or fix NVIDIA's plugin)",
}

HEADER = "| area | behaviour pinned | source | observes | needs | scenario (cases) |"


def source_kind(source: str) -> str | None:
    """Which section a ``source:`` text belongs to, or None when it names none of them."""
    lowered = source.strip().lower()
    return next((kind for kind in SOURCES if lowered.startswith(kind)), None)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _features() -> list[str]:
    out = ["### Features", "", "| feature | origin | what claiming it promises |", "|---|---|---|"]
    out += [f"| `{f.name}` | {f.origin} | {_cell(f.promise)} |" for f in FEATURES.values()]
    return out


def _profiles() -> list[str]:
    from harness.docs import table
    from harness.profiles import Bounds, Profile

    out = ["### Profile files", "", *table(Profile), "", "`bounds`:", "", *table(Bounds)]
    out += ["", "### Shipped profiles", ""]
    out += ["| profile | resource | endpoint | device IDs | features claimed |", "|---|---|---|---|---|"]
    for name in shipped():
        p = load_profile(name)
        claims = ", ".join(f"`{f}`" for f in p.features) or "none"
        out.append(f"| `{name}` | `{p.resource}` | {p.endpoint or '-'} | {p.device_ids} | {claims} |")
    return out


def _coverage(scenarios: Iterable[Scenario], root: Path) -> list[str]:
    files: dict[str, list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        files[scenario.path].append(scenario)
    rows: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    classes: dict[str, int] = defaultdict(int)
    for path, cases in files.items():
        first = cases[0]
        kind = source_kind(first.source) or "other"
        rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
        area = rel.split("/")[1] if rel.count("/") >= 2 else ""
        observes = observation_class(first) or "?"
        for case in cases:
            classes[observation_class(case) or "?"] += 1
        needs = sorted({f for c in cases for f in c.requires.features})
        gpus = str(first.requires.gpus)
        need_text = ", ".join([f"{gpus} GPUs", *needs])
        rows[kind].append(
            (
                area,
                _cell(first.description),
                _cell(first.source),
                observes,
                need_text,
                f"`{rel}` ({len(cases)})",
            )
        )
    total = sum(len(c) for c in files.values())
    split = ", ".join(f"{n} {name}" for name, n in sorted(classes.items()))
    out = ["### Coverage", "", f"{len(files)} scenario files, {total} cases ({split})."]
    for kind, title in [*SOURCES.items(), ("other", "Other")]:
        if not rows.get(kind):
            continue
        out += ["", f"#### {title}", "", HEADER, "|---|---|---|---|---|---|"]
        out += ["| " + " | ".join(row) + " |" for row in sorted(rows[kind])]
    return out


def render(scenarios: Iterable[Scenario], root: Path) -> str:
    """The generated block of docs/conformance.md, with its markers."""
    body = [BEGIN, "", *_features(), "", *_profiles(), "", *_coverage(scenarios, root), "", END]
    return "\n".join(body) + "\n"


def splice(document: str, block: str) -> str:
    """``document`` with its generated block replaced by ``block``."""
    start, stop = document.index(BEGIN), document.index(END) + len(END) + 1
    return document[:start] + block + document[stop:]
