"""Finding scenario files and loading their cases; fragments (``_*.yaml``, ``_*/``) are not scenarios.

A path is a scenario file, a folder of them, or ``file::case-id`` (a pytest-style node id, as
failure reports print it) for exactly one case.
"""

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
            found = [
                p
                for p in sorted(path.rglob("*"))
                if p.suffix in SUFFIXES and p.is_file() and not is_fragment(p.relative_to(path))
            ]
            if not found:  # a folder that holds nothing to run is a mistake, never a pass
                fragments = any(p.suffix in SUFFIXES for p in path.rglob("_*"))
                raise ScenarioError(
                    Loc(str(path), 0, 0),
                    "no scenario files (*.yaml, *.yml) in this folder"
                    + (
                        " (only fragments: names that start with '_' are included by others, not run)"
                        if fragments
                        else ""
                    ),
                    snippet=False,
                )
            out.extend(found)
        elif path.exists() or path.suffix in SUFFIXES:
            out.append(path)
        else:
            raise ScenarioError(Loc(str(path), 0, 0), "no such file or directory", snippet=False)
    return out


@dataclass
class Loaded:
    scenarios: list[Scenario]
    errors: list[ScenarioError]


def _one_case(text: str) -> tuple[Path, str]:
    path, _, case_id = text.partition("::")
    return Path(path), case_id


def _detached(exc: ScenarioError) -> ScenarioError:
    """The error without its traceback and chained errors: their frames hold the file's whole
    parsed tree, which a 5 MB file makes millions of objects that every later collection (and the
    one at exit) walks; the message is all that is reported."""
    exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    return exc


def load_all(paths: list[str | Path]) -> Loaded:
    """Every case of every scenario file under ``paths``; errors collected per file, not raised."""
    scenarios: list[Scenario] = []
    errors: list[ScenarioError] = []
    for raw in paths:
        path, case_id = _one_case(str(raw)) if "::" in str(raw) else (Path(raw), "")
        try:
            files = scenario_files([path])
        except ScenarioError as exc:
            errors.append(exc)
            continue
        for file in files:
            try:
                cases = load(file)
            except ScenarioError as exc:
                errors.append(_detached(exc))
                continue
            if case_id:
                chosen = [c for c in cases if c.id == case_id]
                if not chosen:
                    ids = ", ".join(c.id for c in cases)
                    errors.append(
                        ScenarioError(
                            Loc(str(file), 0, 0), f"no case '{case_id}' (cases: {ids})", snippet=False
                        )
                    )
                cases = chosen
            scenarios.extend(cases)
    unique = {(str(Path(s.path).resolve()), s.case): s for s in reversed(scenarios)}  # first one wins
    return Loaded([s for s in scenarios if unique[(str(Path(s.path).resolve()), s.case)] is s], errors)
