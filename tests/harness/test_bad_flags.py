"""Bad command lines, as a user types them: each is one line on stderr naming the flag (or the
file) and what it takes, exit status 2, no traceback, and nothing run or written.

One row per class of mistake (issue 13): output folders that are files or cannot be written,
plugin command lines that cannot be split or started, empty values, worker counts, folders
with nothing to run, pytest's flags given to dp-harness, bad --node, manifests and images.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.options import OptionError, run_options

OK = "description: registers\nnode: 2xH100\nsteps:\n  - expect: {registered: true, within: 5s}\n"

# (id, argv with {d} for the test's folder, what the one line must say)
BAD: list[tuple[str, list[str], str]] = [
    ("reports-dir-is-a-file", ["run", "{d}/ok.yaml", "--reports-dir", "{d}/afile"],
     "dp-harness: --reports-dir '{d}/afile' is a file: give a folder"),
    ("reports-dir-under-a-file", ["run", "{d}/ok.yaml", "--reports-dir", "{d}/afile/sub"],
     "--reports-dir '{d}/afile/sub' lies under '{d}/afile', which is a file"),
    ("reports-dir-unwritable", ["run", "{d}/ok.yaml", "--reports-dir", "/proc/no-such/reports"],
     "--reports-dir '/proc/no-such/reports': cannot write there"),
    ("reports-dir-latest-not-a-link", ["run", "{d}/ok.yaml", "--reports-dir", "{d}/withlatest"],
     "'{d}/withlatest/latest' is not the link this harness keeps"),
    ("diff-reports-dir-is-a-file",
     ["diff", "{d}/ok.yaml", "--plugin-a", "ours", "--plugin-b", "ours", "--reports-dir", "{d}/afile"],
     "--reports-dir '{d}/afile' is a file"),
    ("explore-reports-dir-is-a-file", ["explore", "--budget", "1s", "--reports-dir", "{d}/afile"],
     "--reports-dir '{d}/afile' is a file"),
    ("nightly-results-is-a-file", ["nightly", "run", "--results", "{d}/afile", "--scenarios", "{d}"],
     "--results '{d}/afile' is a file"),
    ("conformance-write-a-folder", ["conformance", "{d}/ok.yaml", "--write", "{d}/emptydir"],
     "--write '{d}/emptydir' is a folder: give a file"),
    ("conformance-write-no-block", ["conformance", "{d}/ok.yaml", "--write", "{d}/afile"],
     "--write '{d}/afile': no generated block"),
    ("plugin-cmd-unclosed-quote", ["run", "{d}/ok.yaml", "--plugin-cmd", "plugin 'socket"],
     "--plugin-cmd \"plugin 'socket\": no closing quotation in the command line"),
    ("plugin-cmd-trailing-backslash", ["run", "{d}/ok.yaml", "--plugin-cmd", "plugin \\"],
     "no escaped character in the command line"),
    ("plugin-cmd-empty", ["run", "{d}/ok.yaml", "--plugin-cmd", ""], "--plugin-cmd is empty"),
    ("plugin-cmd-blank", ["run", "{d}/ok.yaml", "--plugin-cmd", "   "], "--plugin-cmd is empty"),
    ("plugin-cmd-unknown-placeholder", ["run", "{d}/ok.yaml", "--plugin-cmd", "p {{sockets_dir}}"],
     "unknown template '{{sockets_dir}}'; did you mean 'socket_dir'?"),
    ("plugin-cmd-missing-program",
     ["run", "{d}/ok.yaml", "--plugin-cmd", "{d}/no-such-plugin {{socket_dir}}"],
     "'{d}/no-such-plugin': no such file"),
    ("plugin-cmd-not-on-path", ["run", "{d}/ok.yaml", "--plugin-cmd", "no-such-plugin-anywhere"],
     "no program 'no-such-plugin-anywhere' on PATH"),
    ("plugin-cmd-not-executable", ["run", "{d}/ok.yaml", "--plugin-cmd", "{d}/noexec"],
     "'{d}/noexec' is not executable (chmod +x it"),
    ("plugin-cmd-a-folder", ["run", "{d}/ok.yaml", "--plugin-cmd", "{d}/emptydir"],
     "'{d}/emptydir' is a folder, not a program"),
    ("profile-empty", ["run", "{d}/ok.yaml", "--plugin-profile", ""], "--plugin-profile is empty"),
    ("diff-plugin-b-unclosed-quote", ["diff", "{d}/ok.yaml", "--plugin-a", "ours", "--plugin-b", "'x"],
     "--plugin-b \"'x\": no closing quotation"),
    ("workers-0", ["run", "{d}/ok.yaml", "-n", "0"],
     "dp-harness run: argument -n: '0': give 1 or more workers (or 'auto')"),
    ("workers-negative", ["run", "{d}/ok.yaml", "-n", "-3"], "argument -n: '-3': give 1 or more workers"),
    ("workers-not-a-number", ["run", "{d}/ok.yaml", "-n", "many"], "'many' is not a number of workers"),
    ("empty-folder-run", ["run", "{d}/emptydir", "--no-reports"],
     "{d}/emptydir: no scenario files (*.yaml, *.yml) in this folder"),
    ("empty-folder-validate", ["validate", "{d}/emptydir"], "{d}/emptydir: no scenario files"),
    ("fragments-only-folder", ["validate", "{d}/fragments"], "only fragments: names that start with '_'"),
    ("missing-path", ["run", "{d}/nope.yaml", "--no-reports"], "{d}/nope.yaml: file not found"),
    ("missing-folder", ["validate", "{d}/nope"], "{d}/nope: no such file or directory"),
    ("show-a-folder", ["show", "{d}/emptydir"],
     "show runs one scenario file, and '{d}/emptydir' is a folder"),
    ("show-case-without-matrix", ["show", "{d}/ok.yaml", "--case", "zz"],
     "--case 'zz': {d}/ok.yaml has no matrix"),
    ("pytest-flag-x", ["run", "{d}/ok.yaml", "-x"],
     "dp-harness run: -x is a pytest flag, not one of dp-harness's; run the same files with pytest"),
    ("pytest-flag-lf", ["run", "{d}/ok.yaml", "--lf"], "--lf is a pytest flag"),
    ("pytest-flag-vv", ["validate", "{d}/ok.yaml", "-vv"], "-vv is a pytest flag"),
    ("unknown-flag", ["run", "{d}/ok.yaml", "--nmvl", "sim"], "unknown flag --nmvl"),
    ("unknown-command", ["rnu", "{d}/ok.yaml"], "invalid choice: 'rnu'"),
    ("node-unknown-product", ["run", "{d}/ok.yaml", "--node", "4xH101"],
     "--node '4xH101': unknown GPU product 'H101'. Did you mean H100?"),
    ("node-zero-gpus", ["run", "{d}/ok.yaml", "--node", "0xH100"], "a node needs at least one GPU"),
    ("node-too-big", ["run", "{d}/ok.yaml", "--node", "100000xH100"],
     "the node has 100000 GPUs; the limit is 256 GPUs on a simulated node "
     "(raise it with HARNESS_MAX_NODE_GPUS=N)"),
    ("node-not-a-shorthand", ["run", "{d}/ok.yaml", "--node=-2xH100"], "is not COUNTxPRODUCT"),
    ("profile-unknown", ["run", "{d}/ok.yaml", "--plugin-profile", "nvida"],
     "no shipped plugin profile 'nvida'"),
    ("manifest-missing", ["run", "{d}/ok.yaml", "--plugin-manifest", "{d}/nope.yaml"],
     "--plugin-manifest: {d}/nope.yaml: cannot read the manifest"),
    ("manifest-bad-yaml", ["run", "{d}/ok.yaml", "--plugin-manifest", "{d}/bad-manifest.yaml"],
     "--plugin-manifest: {d}/bad-manifest.yaml:3:1: YAML syntax error"),
    ("manifest-not-a-workload", ["run", "{d}/ok.yaml", "--plugin-manifest", "{d}/ok.yaml"],
     "no DaemonSet / Deployment / Pod"),
    ("image-bad-reference", ["run", "{d}/ok.yaml", "--plugin-image", "Bad Image::"],
     "--plugin-image 'Bad Image::': not an image reference"),
]  # fmt: skip


def make_folder(tmp_path: Path) -> Path:
    """The files the rows name (also used by benchmarks/bench_bad_input.py to time each row)."""
    (tmp_path / "ok.yaml").write_text(OK, encoding="utf-8")
    (tmp_path / "afile").write_text("not a folder\n", encoding="utf-8")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "_part.yaml").write_text("steps: []\n", encoding="utf-8")
    (tmp_path / "withlatest" / "latest").mkdir(parents=True)
    (tmp_path / "noexec").write_text("#!/bin/sh\n", encoding="utf-8")
    (tmp_path / "noexec").chmod(0o644)
    (tmp_path / "bad-manifest.yaml").write_text("kind: DaemonSet\nspec: [\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path)


def answer(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors leave through exit()
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("argv", "says"), [(a, s) for _, a, s in BAD], ids=[i for i, _, _ in BAD])
def test_a_bad_command_line_is_one_located_line_and_exit_2(
    argv: list[str], says: str, folder: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(folder)
    before = sorted(str(p) for p in folder.rglob("*"))
    code, out, err = answer([a.format(d=folder) for a in argv], capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (out, err)
    assert len(lines) == 1, err
    assert says.format(d=folder) in lines[0], lines[0]
    assert "Traceback" not in out + err
    assert "passed" not in out and "failed" not in out, "no case ran"
    assert sorted(str(p) for p in folder.rglob("*")) == before, "nothing was written"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_option_value_is_refused_not_taken_for_the_default(value: str) -> None:
    """``--plugin-cmd ''`` once ran our own plugin in-process, and the run passed."""
    with pytest.raises(OptionError, match="--plugin-cmd is empty"):
        run_options({"plugin_cmd": value})
    assert run_options({"plugin_cmd": None}).plugin_cmd is None


def test_a_program_found_on_path_or_by_python_passes_the_check(folder: Path, capsys) -> None:
    script = folder / "plugin.sh"
    script.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    os.chmod(script, 0o755)
    for command in (
        f"{script} --socket-dir {{socket_dir}}",
        "{python} -c 'raise SystemExit(3)'",
        "sh -c 'exit 3'",
    ):
        code, out, err = answer(
            ["run", str(folder / "ok.yaml"), "--no-reports", "--plugin-cmd", command], capsys
        )
        assert code == 1 and "the plugin exited with code" in out, (command, out, err)


def test_a_collected_file_error_keeps_no_frames_alive(tmp_path: Path) -> None:
    """The traceback of a file's error holds its whole parsed tree: with it, the 5 MB broken file
    of bench_bad_input.py took 8.1 s of CPU instead of 4.7 s (every later collection walked it)."""
    from harness.collect import load_all

    path = tmp_path / "broken.yaml"
    path.write_text(OK + "  - expct: {registered: true}\n", encoding="utf-8")
    (error,) = load_all([path]).errors
    assert f"{path}:5:5: unknown key 'expct'" in str(error)
    assert (error.__traceback__, error.__context__, error.__cause__) == (None, None, None)
