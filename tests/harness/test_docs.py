"""docs/scenarios.md carries the reference generated from the models, current."""

from __future__ import annotations

from pathlib import Path

from harness.docs import BEGIN, END, reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"


def test_the_language_reference_in_the_docs_is_generated_and_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:stop] == reference(), "regenerate it: python -m harness schema (see docs/scenarios.md)"


def test_every_example_in_the_docs_is_a_valid_scenario(tmp_path) -> None:
    from harness.model.scenario import load

    text = DOC.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    assert blocks
    for i, block in enumerate(blocks):
        if not block.startswith("description:") or "include:" in block:
            continue  # snippets, and the include example (a real scenario: scenarios/allocate/)
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block, encoding="utf-8")
        assert load(path)
