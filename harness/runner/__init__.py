"""Running one scenario case (``run_scenario``): setup, the steps, ``never:`` watching, teardown.

Layers inside: ``run`` > ``setup`` > ``live`` > ``never``.
"""

from harness.options import RunOptions
from harness.runner.run import run_scenario

__all__ = ["RunOptions", "run_scenario"]
