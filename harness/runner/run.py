"""Runs one scenario case: its own temp dir, clock, log, node, kubelet and plugin; always torn down.

:mod:`harness.runner.setup` builds the parts; here the steps run in order while
:mod:`harness.runner.never` watches the ``never:`` conditions, and whatever happens the case
ends as a :class:`harness.result.Result`.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from typing import Any

from harness.context import Skip, StepFailed
from harness.model.calls import StepCall
from harness.model.scenario import Scenario
from harness.options import RunOptions
from harness.result import Failure, Result, Status, StepResult
from harness.runner.live import LiveCtx
from harness.runner.never import NeverWatch
from harness.runner.setup import Setup


def _gpus(ctx: LiveCtx | None) -> list[dict[str, Any]]:
    if ctx is None:
        return []
    with contextlib.suppress(Exception):
        return [
            {
                "alias": f"gpu{g.index}",
                "uuid": g.uuid,
                "name": g.name,
                "mig": [m.uuid for m in getattr(g, "mig_devices", [])],
            }
            for g in ctx.gpus()
        ]
    return []


def run_scenario(
    scenario: Scenario,
    options: RunOptions | None = None,
    on_step: Callable[[StepResult], None] | None = None,
    around_step: Callable[[StepCall], contextlib.AbstractContextManager[Any]] | None = None,
) -> Result:
    """Run one case and return its Result (never raises for scenario failures).

    ``on_step`` sees each finished step; ``around_step`` wraps each step's run (allure steps).
    """
    options = options or RunOptions()
    result = Result(
        scenario.id, scenario.path, scenario.case, scenario.title, scenario.description, list(scenario.tags)
    )
    t0 = time.perf_counter()
    ctx: LiveCtx | None = None
    stack = contextlib.ExitStack()
    t_steps = t0
    try:
        with stack:
            try:
                if options.nvml == "real":
                    from harness.realnode import check_requirements

                    check_requirements(scenario, options)
                ctx = Setup(scenario, options, stack).build()
                result.launcher = type(ctx.launcher).__name__
                ctx.never = NeverWatch(ctx, scenario.never, ctx.step_title)
                ctx.never.start()
                stack.callback(ctx.never.stop)
                t_steps = time.perf_counter()
                result.setup_s = t_steps - t0
                _run_steps(ctx, result, on_step, around_step)
                _check_never(ctx, final=True)
                result.status = Status.PASSED
            except Skip as exc:
                result.status, result.skip_reason = Status.SKIPPED, str(exc)
            except StepFailed as exc:
                step = ctx.step if ctx is not None else None
                result.status = Status.FAILED
                result.failure = Failure(
                    step.title() if step else "setup",
                    str(step.loc if step else scenario.loc),
                    exc.message,
                    exc.expectation,
                    exc.observed,
                )
            except Exception as exc:  # a bug in a component or in the harness: show where
                step = ctx.step if ctx is not None else None
                result.status = Status.ERROR
                result.failure = Failure(
                    step.title() if step else "setup",
                    str(step.loc if step else scenario.loc),
                    f"{type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(limit=8),
                )
            finally:
                if ctx is not None:
                    ctx.note("teardown", status=result.status)
                t_end = time.perf_counter()
                if result.setup_s == 0.0:
                    result.setup_s = t_end - t0
                else:
                    result.run_s = t_end - t_steps
                t_teardown = t_end
    finally:
        result.teardown_s = time.perf_counter() - t_teardown
        if ctx is not None:
            result.events = [e.to_dict() for e in ctx.log.events()]
            result.gpus = _gpus(ctx)
    return result


def _check_never(ctx: LiveCtx, final: bool = False) -> None:
    if ctx.never is None:
        return
    violation = ctx.never.check_now() if final else ctx.never.violation
    if violation is not None:
        raise StepFailed(
            f"a 'never' condition held at t={violation.t:.3f}s (during {violation.step})",
            expectation=f"never: {violation.condition} ({violation.loc})",
            observed=violation.observed,
        )


def _run_steps(
    ctx: LiveCtx,
    result: Result,
    on_step: Callable[[StepResult], None] | None,
    around_step: Callable[[StepCall], contextlib.AbstractContextManager[Any]] | None,
) -> None:
    for call in ctx.scenario.steps:
        ctx.step = call
        step = call.step
        if call.at is not None and call.at > ctx.clock.now():
            ctx.clock.advance(float(call.at) - ctx.clock.now())
        if step.key != "expect":
            ctx.step_seq = ctx.log.last_seq
        record = StepResult(
            call.index, step.key, call.title(), str(call.loc), Status.PASSED, t_start=ctx.clock.now()
        )
        ctx.note("step", index=call.index, step=step.key, text=call.name or step.describe())
        wall = time.perf_counter()
        try:
            with around_step(call) if around_step is not None else contextlib.nullcontext():
                step.run(ctx)
                _check_never(ctx)
        except StepFailed as exc:
            record.status, record.message = Status.FAILED, exc.message
            raise
        except Exception as exc:
            record.status, record.message = Status.ERROR, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.t_end = ctx.clock.now()
            record.wall_s = time.perf_counter() - wall
            result.steps.append(record)
            if on_step is not None:
                on_step(record)
    ctx.step = None
