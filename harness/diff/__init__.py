"""Differential mode: run every case with two plugins and list what the kubelet saw differently.

``dp-harness diff PATHS --plugin-a CMD --plugin-b CMD`` (``ours``: our plugin in-process; the
front end is :mod:`harness.cli.diff`). :mod:`trace` draws the kubelet-visible facts of a run,
:mod:`compare` aligns two runs of a case and names each difference, :mod:`render` writes them
as a console table and an HTML section, :mod:`run` runs the cases, :mod:`explain` names the
cause of each difference between ours and NVIDIA's v0.20.0 (docs/plugin.md).
"""

from harness.diff.compare import Difference, compare
from harness.diff.run import DiffSide, diff_cases
from harness.diff.trace import Trace, trace

__all__ = ["DiffSide", "Difference", "Trace", "compare", "diff_cases", "trace"]
