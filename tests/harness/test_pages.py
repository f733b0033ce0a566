"""The report pages show what happened: rendered from a real failing run, read back as a browser would.

What a page shows is in its HTML (the script only sorts, filters and toggles), so the first
tests read the markup with the standard library's parser. The last one runs the pages in
headless Chromium (Debian's package), where installed, and checks the script ran and filters;
CI installs Chromium and sets HARNESS_REQUIRE_BROWSER=1 so it cannot skip there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.model.scenario import load
from harness.options import RunOptions
from harness.reports.html import HtmlReport
from harness.session import Session

FAILING = """\
description: an XID 79 on gpu1, then a kubelet restart; the case wrongly expects gpu1 still Unhealthy
tags: [health, pages]
node: 2xH100
steps:
  - expect: {registered: true, allocatable: 2, within: 5s}
  - inject: {xid: 79, gpu: gpu1}
  - expect: {health: {gpu1: Unhealthy}, within: 2s}
  - kubelet: restart
  - expect: {registered: true, within: 5s}
  - expect:
      health: {gpu1: Unhealthy}
      within: 300ms
  - plugin: restart
"""
PASSING = "description: registers\nnode: 2xH100\nsteps:\n  - expect: {registered: true, within: 5s}\n"


class Page(HTMLParser):
    """The elements of a page with their attributes and text (enough to read it as shown)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "link", "input", "br", "img"):
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})  # <rect .../>: no content

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def find(self, tag: str, **attrs: str) -> list[dict]:
        return [
            e
            for e in self.elements
            if e["tag"] == tag
            and all(v in (e["attrs"].get(k.rstrip("_")) or "").split() for k, v in attrs.items())
        ]

    def by_id(self, id_: str) -> dict:
        (element,) = [e for e in self.elements if e["attrs"].get("id") == id_]
        return element


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    (root / "health").mkdir()
    (root / "health" / "wrong.yaml").write_text(FAILING)
    (root / "health" / "fine.yaml").write_text(PASSING)
    folder = root / "run"
    folder.mkdir()
    cases = [*load(root / "health" / "fine.yaml"), *load(root / "health" / "wrong.yaml")]
    Session(RunOptions(), [HtmlReport(folder)]).run(cases)
    return folder


def test_the_case_page_of_a_failure_shows_the_failure_the_steps_and_their_sources(run_folder) -> None:
    page = Page((run_folder / "health-wrong" / "index.html").read_text())
    assert page.by_id("status")["text"] == "failed"
    failure = page.by_id("failure")["text"]
    assert "Failure at step 6 (expect): health gpu1 Unhealthy (within 300ms)" in failure
    assert "wrong.yaml:10:5" in failure
    assert "health: gpu1 Unhealthy" in failure and "is Healthy" in failure
    assert f"dp-harness run {run_folder.parent}/health/wrong.yaml::wrong" in failure
    rows = page.find("tr", class_="step")
    assert [r["attrs"]["class"].split()[1] for r in rows] == ["passed"] * 5 + ["failed", "not-run"]
    assert "health: {gpu1: Unhealthy}" in rows[5]["text"] and "within: 300ms" in rows[5]["text"]
    assert "- plugin: restart" in rows[6]["text"]


def test_the_timeline_zooms_to_the_failure_and_says_why_devices_were_not_healthy(run_folder) -> None:
    page = Page((run_folder / "health-wrong" / "index.html").read_text())
    zoomed, whole = page.by_id("zoomed"), page.by_id("whole")
    assert "hidden" in whole["attrs"] and "hidden" not in zoomed["attrs"]
    assert page.find("button", **{"data-toggle": "whole"})
    for svg in (zoomed, whole):
        assert "device Healthy" in svg["text"] and "scenario time" in svg["text"]
    devices = [e["text"].strip()[:4] for e in page.find("text", class_="device")]  # then its ID (a title)
    assert devices == ["gpu0", "gpu1"] * 2
    text = page.by_id("timeline")["text"]
    assert "kubelet restarting" in text and "this is not the GPUs failing" in text
    health = " ".join(r["text"] for r in page.find("table", class_="health"))
    assert "the plugin reported it Unhealthy (after xid 79 gpu1" in health
    assert "the kubelet restarting at" in health and "waits for the plugin to register again" in health


def test_the_timeline_draws_what_the_failed_step_expected_against_what_the_kubelet_saw(run_folder) -> None:
    page = Page((run_folder / "health-wrong" / "index.html").read_text())
    zoomed = page.by_id("zoomed")["text"]
    assert "6 expect failed" in zoomed and "what the failed step expected" in zoomed
    assert "expected Unhealthy, saw Healthy" in zoomed
    wanted = [e for e in page.find("rect", class_="wanted") if "held" not in e["attrs"]["class"]]
    assert [w["text"] for w in wanted] == ["step 6 expected gpu1 Unhealthy; the kubelet saw Healthy"] * 2
    assert [e["text"].strip()[:6] for e in page.find("text", class_="missed")] == ["gpu1 ✗"] * 2
    faults = page.find("circle", class_="fault")
    assert faults and all("xid 79 gpu1" in f["text"] for f in faults)
    assert "NVML events registered (2 GPUs)" in zoomed, (
        "the plugin's subscriptions are the plugin's, not faults"
    )


def test_the_events_are_all_listed_with_a_filter(run_folder) -> None:
    page = Page((run_folder / "health-wrong" / "index.html").read_text())
    rows = [r for r in page.find("tr") if "data-source" in r["attrs"]]
    assert len(rows) == len(json.loads((run_folder / "health-wrong" / "events.json").read_text()))
    assert page.by_id("event-filter")["tag"] == "input"
    assert {r["attrs"]["data-source"] for r in rows} == {"harness", "kubelet", "node", "plugin"}


def test_the_index_lists_failures_first_in_a_sortable_filterable_table(run_folder) -> None:
    page = Page((run_folder / "index.html").read_text())
    rows = page.find("tr", class_="case")
    assert [r["attrs"]["data-status"] for r in rows] == ["failed", "passed"]
    assert "wrong" in rows[0]["text"] and "health" in rows[0]["text"] and "pages" in rows[0]["text"]
    assert page.find("table", class_="sortable") and page.by_id("filter")["tag"] == "input"
    assert [e["attrs"]["href"] for e in page.find("a") if "index.html" in e["attrs"].get("href", "")] == [
        "health-wrong/index.html",
        "health-fine/index.html",
    ]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("HARNESS_REQUIRE_BROWSER"):
            pytest.fail("HARNESS_REQUIRE_BROWSER is set, but there is no chromium on PATH")
        pytest.skip("no chromium here (Debian: apt-get install chromium)")
    return exe


def dump_dom(exe: str, url: str, profile: Path) -> str:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=3000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run([exe, *flags], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_in_a_real_browser_the_pages_script_runs_and_filters(run_folder, tmp_path) -> None:
    exe = chromium()
    case = Page(dump_dom(exe, (run_folder / "health-wrong" / "index.html").as_uri(), tmp_path / "a"))
    assert case.find("body")[0]["attrs"].get("data-ready") == "1"
    events = len([r for r in case.find("tr") if "data-source" in r["attrs"]])
    assert case.by_id("events-shown")["text"] == f"{events} of {events} shown"
    index = Page(dump_dom(exe, (run_folder / "index.html").as_uri() + "#q=wrong", tmp_path / "b"))
    assert index.find("body")[0]["attrs"].get("data-ready") == "1"
    rows = index.find("tr", class_="case")
    assert ["hidden" in r["attrs"] for r in rows] == [False, True]
    assert index.by_id("shown")["text"] == "1 of 2 shown"
