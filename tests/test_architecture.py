"""docs/architecture.md draws the harness's layers exactly as the import-linter contracts hold them."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def drawn(contract: dict) -> str:
    (container,) = contract["containers"]
    return f"- `{container}`: " + " > ".join(f"`{layer}`" for layer in contract["layers"])


def test_the_architecture_page_draws_every_harness_layer_contract() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    page = (ROOT / "docs" / "architecture.md").read_text()
    block = page.split("<!-- layers:")[1].split("<!-- end layers -->")[0]
    lines = [line for line in block.splitlines() if line.startswith("- `harness")]
    layered = [c for c in contracts if c["type"] == "layers" and c["containers"][0].startswith("harness")]
    assert lines == [drawn(c) for c in layered]
    independent = [c for c in contracts if c["type"] == "independence"]
    assert {m for c in independent for m in c["modules"]} == {"harness.steps.*", "harness.conditions.*"}
