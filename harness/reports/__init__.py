"""Reports from results: per case events.json + timeline.svg, index.html, JUnit XML, allure results."""

from harness.reports.html import write_index
from harness.reports.junit import write_junit
from harness.reports.timeline import Timeline, build_timeline
from harness.reports.write import case_dir, write_case

__all__ = ["Timeline", "build_timeline", "case_dir", "write_case", "write_index", "write_junit"]
