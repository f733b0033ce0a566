"""Runs one scenario case: its own temp dir, clock, log, node, kubelet and plugin; always torn down.

:mod:`harness.runner.setup` builds the parts; here the steps run in order while
:mod:`harness.runner.never` watches the ``never:`` conditions, and whatever happens the case
ends as a :class:`harness.result.Result`. The steps run under the case's wall cap: when it
passes, the log is aborted (every wait on it ends) and the case fails with the step that was
running. The step boundary sorts what a step raises:
StepFailed (an expectation did not hold: FAILED), StepError (the scenario asked for something
that cannot be done: ERROR, in the author's words with the fix), Skip, and anything else (a
bug in a component or in the harness: ERROR, with the traceback).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shlex
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from harness.context import Skip, StepError, StepFailed
from harness.errors import ScenarioError
from harness.listeners import Listener, StepStart
from harness.model.scenario import Scenario
from harness.options import OptionError, RunOptions
from harness.profiles import Profile, default_profile, load_profile
from harness.requires import NodeFacts, custom_node, missing_features, not_claimed, spec_facts, unmet
from harness.result import Failure, Result, Status, StepResult
from harness.runner.live import LiveCtx
from harness.runner.never import NeverWatch
from harness.runner.setup import Setup
from harness.templating import render_known


@functools.cache
def _profile(ref: str) -> Profile:
    return load_profile(ref)


def run_profile(options: RunOptions) -> Profile:
    """The plugin profile a run uses (``--plugin-profile``, else ours in-process, nvidia for commands)."""
    external = options.plugin_cmd or options.plugin_image or options.plugin_manifest
    return _profile(options.plugin_profile or default_profile(external))


def check_run(options: RunOptions) -> None:
    """Raise OptionError (one line naming the flag) for a profile that does not load, a --node
    that cannot be built, or --nvml real without usable NVML, so a run stops before its first case."""
    try:
        run_profile(options)
    except ScenarioError as exc:
        raise OptionError(f"--plugin-profile {options.plugin_profile!r}: {exc.message}") from None
    if options.node and (why := _node_problem(options.node)):
        raise OptionError(f"--node {options.node!r}: {why}")
    check_plugin(options)
    if options.nvml == "real" and not options.skip_without_nvml:
        from harness.realnode import nvml_problem

        if why := nvml_problem():
            raise OptionError(
                f"--nvml real: {why}; run where the NVIDIA driver is (a pod needs NVIDIA's runtime: "
                "runtimeClassName: nvidia, docs/nightly.md), or add --skip-without-nvml to skip every "
                "case with this reason instead"
            )


# A container image reference as the engines parse it: [host[:port]/]path[:tag][@digest].
_IMAGE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)*)(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,})?$"
)


def check_plugin(options: RunOptions) -> None:
    """Raise OptionError for a plugin that cannot start anywhere, before the first case: a
    --plugin-cmd whose program is not there or cannot be run, a manifest that does not read as
    a plugin workload, an image reference that no engine would parse."""
    if options.plugin_cmd and not (options.plugin_image or options.plugin_manifest):
        if why := _program_problem(options.plugin_cmd):
            raise OptionError(f"--plugin-cmd {options.plugin_cmd!r}: {why}")
    if options.plugin_image and not _IMAGE.match(options.plugin_image):
        raise OptionError(
            f"--plugin-image {options.plugin_image!r}: not an image reference such as "
            "registry.example/name:tag (lower-case name, optional :tag or @sha256:digest)"
        )
    if options.plugin_manifest:
        from harness.manifests.plugin import plugin_container

        try:
            plugin_container(options.plugin_manifest, options.plugin_image)
        except ScenarioError as exc:
            raise OptionError(f"--plugin-manifest: {str(exc).splitlines()[0]}") from None


def _node_problem(spec: str) -> str:
    """Why ``--node`` cannot be simulated ('' when it can); the GPU budget is checked first."""
    from fake_nvml import FakeNVML
    from fake_nvml.profile import TooManyGpus
    from harness import limits

    try:
        FakeNVML.from_spec(spec, max_gpus=limits.NODE_GPUS.value()).close()
    except TooManyGpus as exc:
        return limits.NODE_GPUS.breach(f"the node has {exc.gpus} GPUs", exc.limit)
    except (ValueError, OSError) as exc:
        return str(exc).removeprefix(f"node shorthand {spec!r}: ")
    return ""


def _program_problem(command: str) -> str:
    """Why the command line's program cannot be started ('' when it can, or when its first word is
    a template that only a case resolves): looked up as the subprocess launcher starts it."""
    from harness.launchers.subprocess import child_env
    from harness.templating import has_template

    word = shlex.split(command)[0]
    if word == "{python}" or has_template(word):
        return ""
    if "/" not in word:
        if shutil.which(word, path=child_env({})["PATH"]):
            return ""
        return f"no program {word!r} on PATH (give its path, or start a script with {{python}})"
    path = Path(word)
    if path.is_dir():
        return f"{word!r} is a folder, not a program"
    if not path.exists():
        return f"{word!r}: no such file"
    if not os.access(path, os.X_OK):
        return f"{word!r} is not executable (chmod +x it, or start it as: sh {word} / {{python}} {word})"
    return ""


def run_gate(scenario: Scenario, options: RunOptions, profile: Profile) -> Any:
    """Raise Skip when this run cannot offer what the case needs; return the node spec to simulate.

    The one gate for a profile's features, the machine's GPUs (``--nvml real``) and another
    simulated node size (``--node``); its reasons are worded alike for alike causes.
    """
    if why := missing_features(scenario, profile):
        raise Skip(why)
    spec = scenario.node.source()
    facts: NodeFacts | None = None
    if options.nvml == "real":
        from harness.realnode import machine_facts

        facts = machine_facts()
    elif options.node:
        if why := custom_node(scenario):
            raise Skip(f"the scenario defines its own node ({why}); --node does not apply")
        spec = options.node
        facts = spec_facts(spec, scenario.node.seed)
        if facts is None:
            raise StepFailed(f"cannot build the node {options.node!r} given with --node")
    if facts is not None:
        process = bool(
            options.plugin_cmd or options.plugin_image or options.plugin_manifest or scenario.plugin.command
        )
        if why := unmet(scenario, facts, profile, plugin_process=process):
            raise Skip(why)
    if options.nvml == "real":
        _real_launcher(scenario, options)
    return spec


def _real_launcher(scenario: Scenario, options: RunOptions) -> None:
    """Skip a case whose launcher cannot reach the machine's GPUs (the container launcher) here,
    with the launcher's own reason, so the gate alone says what a real node runs."""
    from harness.launchers import launchers
    from harness.launchers.base import reaches_real_nvml, simulated_only
    from harness.runner.setup import launcher_kind

    try:
        kind, _ = launcher_kind(scenario, options)
    except StepFailed:
        return  # the case's own error; its setup reports it
    if not reaches_real_nvml(launchers()[kind]):
        raise Skip(simulated_only(kind))


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


def _failure(scenario: Scenario, ctx: LiveCtx | None, exc: BaseException) -> tuple[Status, Failure]:
    """The status and the readable failure for what the case raised."""
    step = ctx.step if ctx is not None else None
    where = (step.title(), str(step.loc)) if step is not None else ("setup", str(scenario.loc))
    if isinstance(exc, StepFailed):
        # What was expected, in the values its templates stood for, as the observation is said.
        expectation = render_known(exc.expectation, ctx) if ctx is not None else exc.expectation
        return Status.FAILED, Failure(*where, exc.message, expectation, exc.observed, health=exc.health)
    if isinstance(exc, StepError):
        return Status.ERROR, Failure(*where, exc.message, hint=exc.fix)
    # A bug in a component or in the harness: say which step met it, and keep the traceback.
    return Status.ERROR, Failure(
        *where,
        f"{type(exc).__name__}: {exc}",
        hint="this is not the scenario's doing: a component or the harness broke (the traceback "
        "below says where)",
        traceback=traceback.format_exc(limit=8),
    )


def run_scenario(
    scenario: Scenario, options: RunOptions | None = None, events: Listener | None = None
) -> Result:
    """Run one case and return its Result (never raises for scenario failures).

    ``events`` hears each step start and finish, live (the console of ``dp-harness show``, allure
    steps under pytest).
    """
    options = options or RunOptions()
    events = events or Listener()
    profile = run_profile(options)
    if not scenario.resource:
        scenario = dataclasses.replace(scenario, resource=profile.resource)
    result = Result(
        scenario.id, scenario.path, scenario.case, scenario.title, scenario.description, list(scenario.tags)
    )
    result.started_at = time.time()
    result.source = scenario.source
    result.outline = [
        {"index": c.index, "key": c.step.key, "title": c.title(), "loc": str(c.loc)} for c in scenario.steps
    ]
    t0 = time.perf_counter()
    setup: Setup | None = None
    stack = contextlib.ExitStack()
    t_steps = t_teardown = t0
    try:
        with stack:
            try:
                node_spec = run_gate(scenario, options, profile)
                setup = Setup(scenario, options, stack, profile, node_spec)
                ctx = setup.build()
                result.launcher = type(ctx.launcher).__name__
                ctx.never = NeverWatch(ctx, scenario.never, ctx.step_title)
                ctx.never.start()
                stack.callback(ctx.never.stop)
                cap = threading.Timer(
                    scenario.wall_cap.seconds, ctx.log.abort, [scenario.wall_cap.exceeded()]
                )
                cap.daemon = True
                cap.start()
                stack.callback(cap.cancel)
                t_steps = time.perf_counter()
                result.setup_s = t_steps - t0
                _run_steps(ctx, result, events)
                _check_never(ctx, final=True)
                result.status = Status.PASSED
            except Skip as exc:
                result.status, result.skip_reason = Status.SKIPPED, str(exc)
            except Exception as exc:
                result.status, result.failure = _failure(scenario, setup.ctx if setup else None, exc)
            finally:
                if setup is not None and setup.ctx is not None:
                    setup.ctx.note("teardown", status=result.status)
                t_end = time.perf_counter()
                if result.setup_s == 0.0:
                    result.setup_s = t_end - t0
                else:
                    result.run_s = t_end - t_steps
                t_teardown = t_end
    finally:
        result.teardown_s = time.perf_counter() - t_teardown
        if setup is not None and setup.ctx is not None:
            result.events = [e.to_dict() for e in setup.ctx.log.events()]
            result.gpus = _gpus(setup.ctx)
    return result


def _check_never(ctx: LiveCtx, final: bool = False) -> None:
    if ctx.never is None:
        return
    if final:
        ctx.never.check_now()
    if ctx.never.error is not None:
        raise ctx.never.error
    violation = ctx.never.violation
    if violation is not None:
        raise StepFailed(
            f"a 'never' condition held at t={violation.t:.3f}s (during {violation.step})",
            expectation=f"never: {violation.condition} ({violation.loc})",
            observed=violation.observed,
        )
    if final:
        ctx.never.check_evaluated()


def _run_steps(ctx: LiveCtx, result: Result, events: Listener) -> None:
    for call in ctx.scenario.steps:
        ctx.step = call
        step = call.step
        if why := not_claimed(ctx.profile, call.requires):
            _skip_step(ctx, call, result, events, why)
            continue
        if call.at is not None and call.at > ctx.clock.now():
            ctx.clock.advance(float(call.at) - ctx.clock.now())
        if step.key != "expect":
            ctx.step_seq = ctx.log.last_seq
        record = StepResult(
            call.index, step.key, call.title(), str(call.loc), Status.PASSED, t_start=ctx.clock.now()
        )
        ctx.note("step", index=call.index, step=step.key, text=call.name or step.describe())
        events.step_started(ctx.scenario.id, StepStart(call.index, step.key, call.title(), str(call.loc)))
        wall = time.perf_counter()
        try:
            _run_step(ctx, step)
        except StepFailed as exc:
            record.status, record.message = Status.FAILED, exc.message
            raise
        except StepError as exc:
            record.status, record.message = Status.ERROR, exc.message
            raise
        except Exception as exc:
            record.status, record.message = Status.ERROR, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.t_end = ctx.clock.now()
            record.wall_s = time.perf_counter() - wall
            result.steps.append(record)
            events.step_finished(ctx.scenario.id, record)
    ctx.step = None


def _run_step(ctx: LiveCtx, step: Any) -> None:
    """Run one step; once the wall cap has passed, whatever it raised, or its success, is the
    cap's failure (a wait it was in ended with WaitAborted, or it ran past the cap unwaiting)."""
    try:
        step.run(ctx)
        _check_never(ctx)
    except Exception:
        if ctx.log.aborted is None:
            raise
    if (reason := ctx.log.aborted) is not None:
        raise StepFailed(
            reason,
            expectation="the case's steps end within the cap",
            observed=f"'{step.key}' still running at t={ctx.clock.now():.3f}s",
        )


def _skip_step(ctx: LiveCtx, call: Any, result: Result, events: Listener, reason: str) -> None:
    """A step gated on a feature the profile does not claim: recorded as skipped, the case goes on."""
    text = call.name or call.step.describe()
    ctx.note("step", index=call.index, step=call.step.key, text=text, skipped=reason)
    now = ctx.clock.now()
    record = StepResult(call.index, call.step.key, call.title(), str(call.loc), Status.SKIPPED, now, now)
    record.message = reason
    result.steps.append(record)
    events.step_finished(ctx.scenario.id, record)
