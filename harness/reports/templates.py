"""The Jinja2 environment of the reports: templates in ``templates/``, autoescaped.

Why Jinja2: the pages and the timeline are markup with loops and conditions; as templates they
read as the page they make, and autoescaping means a device ID or a log line with ``<`` in it
can never break a page (the hand-written f-strings escaped by hand, and not everywhere).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2

ASSETS = ("report.css", "report.js")


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "svg", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["ms"] = lambda s: f"{float(s) * 1000:.0f} ms"
    env.filters["secs"] = lambda s: f"{float(s):.3f}s"
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def asset(name: str) -> str:
    return resources.files("harness.reports").joinpath("assets", name).read_text(encoding="utf-8")
