"""Every broken scenario in tests/harness/broken/ fails to load with the error its first line names.

Each file starts with ``# expect: LINE:COL: message | hint | !text``: the error must point at
``file:LINE:COL``, say the message, show the snippet, give each hint, not say any ``!text``, and
never be a traceback. ``harness validate`` answers each with that first line and exit status 2.
Files whose name starts with ``_`` are fragments that the broken files include.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ScenarioError
from harness.model.scenario import load

BROKEN = sorted(p for p in (Path(__file__).parent / "broken").glob("*.yaml") if not p.name.startswith("_"))


def _expected(path: Path) -> tuple[str, list[str], list[str]]:
    header = path.read_bytes().splitlines()[0].decode("utf-8")  # some files are not UTF-8 past it
    assert header.startswith("# expect: "), f"{path.name} lacks its '# expect:' header"
    where_and_message, *hints = header[len("# expect: ") :].split(" | ")
    return (
        where_and_message,
        [h for h in hints if not h.startswith("!")],
        [h[1:] for h in hints if h[0] == "!"],
    )


def test_the_corpus_covers_many_mistakes() -> None:
    assert len(BROKEN) >= 45


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_scenario_reports_file_line_col_and_what_to_do(path: Path) -> None:
    where_and_message, hints, absent = _expected(path)
    with pytest.raises(ScenarioError) as info:
        load(path)
    text = str(info.value)
    first = text.splitlines()[0]
    assert first.startswith(f"{path}:{where_and_message}"), text
    for hint in hints:
        assert hint in text, text
    for wrong in absent:
        assert wrong not in text, text
    line = int(where_and_message.split(":")[0])
    assert f"  {line:>4} | " in text, "the snippet of the offending line is shown"
    assert "Traceback" not in text


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_validate_answers_each_broken_file_with_its_place_and_exit_2(path: Path, capsys) -> None:
    where_and_message, _, _ = _expected(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith(f"{path}:{where_and_message}"), err
    assert "Traceback" not in err
