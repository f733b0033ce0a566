"""Installed packages add steps, conditions, reporters and launchers through entry-point groups."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from harness import extensions
from harness.cli import main
from harness.launchers import launchers
from harness.model import registry
from harness.reports import reporters

MODULE = '''
import sys
from dataclasses import dataclass

from harness.launchers import SubprocessLauncher
from harness.listeners import Listener
from harness.model.base import Condition, Step, Verdict
from harness.model.schema import one_field_shorthand


@dataclass
class Shout(Step):
    """Note a word in the observation log."""

    word: str = ""
    shorthand, shorthand_expected = one_field_shorthand("word", "a word")

    def run(self, ctx):
        ctx.note("shout", word=self.word)


@dataclass
class Shouted(Condition):
    """Some step shouted."""

    def evaluate(self, ctx):
        return Verdict(bool(ctx.log.events(kind="shout")), "")


class Count(Listener):
    def __init__(self, target):
        self.path = target.folder / "count.txt"
        self.n = 0

    def case_finished(self, result):
        self.n += 1

    def session_finished(self, outcome):
        self.path.write_text(str(self.n))


class Echo(SubprocessLauncher):
    needs_command = False

    def command_argv(self):
        return [sys.executable, "-c", "print('the echo launcher ran')"]
'''

ENTRY_POINTS = """
[dp_harness.steps]
shout = extra_harness:Shout

[dp_harness.conditions]
shouted = extra_harness:Shouted

[dp_harness.reporters]
count = extra_harness:Count

[dp_harness.launchers]
echo = extra_harness:Echo
"""


def install(tmp_path: Path, entry_points: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution on sys.path, as pip would install it (a module and its .dist-info)."""
    site = tmp_path / "site"
    info = site / "extra_harness-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-harness\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    (site / "extra_harness.py").write_text(MODULE)
    registry.load_all()  # the built-in tables first (before the package is visible), to restore after
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "STEPS", dict(registry.STEPS))
    monkeypatch.setattr(registry, "CONDITIONS", dict(registry.CONDITIONS))
    monkeypatch.setattr(registry, "_loaded", False)
    launchers.cache_clear()
    reporters.cache_clear()
    monkeypatch.delitem(sys.modules, "extra_harness", raising=False)


@pytest.fixture(autouse=True)
def fresh_tables():
    yield
    launchers.cache_clear()
    reporters.cache_clear()


def test_a_package_adds_a_step_a_condition_a_reporter_and_a_launcher(tmp_path, write, monkeypatch, capsys):
    install(tmp_path, ENTRY_POINTS, monkeypatch)
    path = write(
        "s.yaml",
        "description: d\nnode: 2xH100\nsteps:\n  - shout: hello\n"
        "  - expect: {shouted: {}, log: echo launcher}\n",
    )
    reports = tmp_path / "reports"
    code = main(["run", str(path), "--launcher", "echo", "--reports-dir", str(reports), "--report", "count"])
    assert code == 0, capsys.readouterr().out
    assert (reports / "latest" / "count.txt").read_text() == "1"
    assert "shout" in registry.STEPS and "echo" in launchers() and "count" in reporters()


def test_a_name_that_clashes_with_a_built_in_says_which_package_to_fix(tmp_path, monkeypatch) -> None:
    install(tmp_path, "[dp_harness.launchers]\nsubprocess = extra_harness:Echo\n", monkeypatch)
    with pytest.raises(extensions.ExtensionError, match=r"extra-harness 1\.0.*'subprocess' is built in"):
        launchers()


def test_an_entry_point_that_cannot_be_imported_is_named(tmp_path, monkeypatch) -> None:
    install(tmp_path, "[dp_harness.reporters]\nbroken = extra_harness:Missing\n", monkeypatch)
    with pytest.raises(
        extensions.ExtensionError, match=r"broken = extra_harness:Missing.*cannot be imported"
    ):
        reporters()
