"""python -m harness diff end to end: our plugin in-process against our plugin as a process."""

from __future__ import annotations

from harness.cli import main

PROCESS = "python -m plugin --nvml {nvml} --socket-dir {socket_dir} --kubelet-socket {kubelet_socket}"
CASE = """description: one pod
node: 2xH100
steps:
  - expect: {allocatable: '{gpus}', within: 5s}
  - admit: {pod: p1, gpus: 1}
"""
# facts only: a process's interpreter start takes seconds on a loaded machine (test_compare.py times)
FACTS = ["--tolerance", "60s"]


def test_the_same_plugin_two_ways_shows_no_difference_and_exits_0(write, tmp_path, capsys) -> None:
    write("s/pod.yaml", CASE)
    args = [
        "diff",
        str(tmp_path / "s"),
        "--plugin-a",
        "ours",
        "--plugin-b",
        PROCESS,
        "--profile-b",
        "ours",
        *FACTS,
    ]
    assert main([*args, "--reports-dir", str(tmp_path / "r")]) == 0
    assert "no kubelet-visible difference in 1 case " in capsys.readouterr().out
    page = (tmp_path / "r" / "latest" / "index.html").read_text()
    assert 'id="diff"' in page and 'href="a/index.html"' in page
    assert (tmp_path / "r" / "latest" / "b" / "index.html").is_file()


def test_a_plugin_that_answers_allocate_differently_is_shown_field_by_field(write, tmp_path, capsys) -> None:
    write("s/pod.yaml", CASE)
    b = PROCESS + " --device-id-strategy index"
    assert (
        main(
            ["diff", str(tmp_path / "s"), "--plugin-a", "ours", "--plugin-b", b, "--reports-dir", "", *FACTS]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "Allocate p1/main envs" in out and '"NVIDIA_VISIBLE_DEVICES": "0"' in out
    assert "1 difference in 1 of 1 case; 0 alike" in out


def test_an_empty_plugin_command_is_refused_in_one_line(write, tmp_path, capsys) -> None:
    write("s/pod.yaml", CASE)
    assert main(["diff", str(tmp_path / "s"), "--plugin-a", "ours", "--plugin-b", " "]) == 2
    assert capsys.readouterr().err == (
        "dp-harness: --plugin-b is empty: give a command line, or 'ours' for our plugin\n"
    )
