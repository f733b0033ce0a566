"""Log lines are one event word plus key=value pairs, and read back the same."""

from __future__ import annotations

from plugin.logfmt import format_event, parse_line


def test_a_line_reads_back_with_quoted_values() -> None:
    line = format_event(
        "registration-failed",
        resource="nvidia.com/gpu",
        attempt=2,
        error='UNAVAILABLE: failed to connect to all addresses; "x"',
        retry_in="0.1s",
        skip=None,
    )
    assert line.startswith('registration-failed resource=nvidia.com/gpu attempt=2 error="')
    assert "skip" not in line
    event, fields = parse_line("2026-01-01T00:00:00.000 WARNING " + line)
    assert event == "registration-failed"
    assert fields == {
        "resource": "nvidia.com/gpu",
        "attempt": "2",
        "error": 'UNAVAILABLE: failed to connect to all addresses; "x"',
        "retry_in": "0.1s",
    }


def test_lists_are_comma_joined() -> None:
    assert format_event("allocate", devices=["GPU-a", "GPU-b"]) == "allocate devices=GPU-a,GPU-b"
