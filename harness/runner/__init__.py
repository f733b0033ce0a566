"""Running one scenario case (``run_scenario``): setup, the steps, ``never:`` watching, teardown.

Layers inside: ``run`` > ``setup`` > ``live`` > ``never``.
"""

from harness.options import RunOptions
from harness.runner.run import check_run, run_gate, run_profile, run_scenario

__all__ = ["RunOptions", "check_run", "run_gate", "run_profile", "run_scenario"]
