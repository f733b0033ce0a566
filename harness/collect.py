"""Finding scenario files and loading their cases; fragments (``_*.yaml``, ``_*/``) are not scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import Loc, ScenarioError
from harness.model.scenario import Scenario, load

SUFFIXES = (".yaml", ".yml")


def is_fragment(path: Path) -> bool:
    """Files or folders whose name starts with '_' hold include fragments, not scenarios."""
    return any(part.startswith("_") for part in path.parts if part not in (".", ".."))


def scenario_files(paths: list[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.suffix in SUFFIXES and p.is_file() and not is_fragment(p.relative_to(path))
            )
        elif path.exists() or path.suffix in SUFFIXES:
            out.append(path)
        else:
            raise ScenarioError(Loc(str(path), 0, 0), "no such file or directory", snippet=False)
    return out


@dataclass
class Loaded:
    scenarios: list[Scenario]
    errors: list[ScenarioError]


def load_all(paths: list[str | Path]) -> Loaded:
    """Every case of every scenario file under ``paths``; errors collected per file, not raised."""
    scenarios: list[Scenario] = []
    errors: list[ScenarioError] = []
    try:
        files = scenario_files(paths)
    except ScenarioError as exc:
        return Loaded([], [exc])
    for file in files:
        try:
            scenarios.extend(load(file))
        except ScenarioError as exc:
            errors.append(exc)
    return Loaded(scenarios, errors)
