"""Every broken scenario in tests/harness/broken/ fails to load with the error its first line names.

Each file starts with ``# expect: LINE:COL: message | hint``: the error must point at
``file:LINE:COL``, say the message, show the snippet, give the hint, and never be a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.model.scenario import load

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _expected(path: Path) -> tuple[str, list[str]]:
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# expect: "), f"{path.name} lacks its '# expect:' header"
    where_and_message, *hints = header[len("# expect: ") :].split(" | ")
    return where_and_message, hints


def test_the_corpus_covers_many_mistakes() -> None:
    assert len(BROKEN) >= 15


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_scenario_reports_file_line_col_and_what_to_do(path: Path) -> None:
    where_and_message, hints = _expected(path)
    with pytest.raises(ScenarioError) as info:
        load(path)
    text = str(info.value)
    first = text.splitlines()[0]
    assert first.startswith(f"{path}:{where_and_message}"), text
    for hint in hints:
        assert hint in text, text
    line = int(where_and_message.split(":")[0])
    assert f"  {line:>4} | " in text, "the snippet of the offending line is shown"
    assert "Traceback" not in text
