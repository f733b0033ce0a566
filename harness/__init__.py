"""Scenarios, runner, pytest plugin, reports and CLI (see issue 6)."""
