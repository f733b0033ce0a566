"""How scenarios run: :class:`RunOptions`, and the one table of the flags that set them.

Each :class:`Option` row is a flag of ``dp-harness run|show`` *and* of pytest (with the same
help), an ini setting of the pytest plugin (``harness_<name>``), a field of RunOptions, a
check with a one-line error, and part of the command that reruns a failed case. Adding an
option is one row here and one field there; the CLI, the pytest plugin and the rerun line
follow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

NVML_CHOICES = ("sim", "real")


@dataclass
class RunOptions:
    """How to run scenarios: which NVML, and which plugin (default: ours, in-process)."""

    nvml: str = "sim"  # "sim" or "real"
    plugin_cmd: str | None = None  # run this command line (subprocess launcher) instead
    launcher: str | None = None  # force a launcher of the table (inprocess, subprocess, namespace, ...)
    plugin_image: str | None = None  # run this image (container launcher) instead
    plugin_manifest: str | None = None  # run this manifest's plugin container (container launcher)
    plugin_profile: str | None = None  # what the plugin claims: a shipped profile or a file
    node: str | None = None  # simulate this node instead of each scenario's own (sim only)
    skip_without_nvml: bool = False  # --nvml real on a machine without NVML: skip cases, do not stop


class OptionError(ValueError):
    """A bad option value; ``str()`` is one line that names the flag and what it takes."""


def _check_command(value: str) -> str | None:
    from harness.templating import TemplateError, check_command

    try:
        check_command(value)
    except TemplateError as exc:
        return f"{exc}; {exc.hint}" if exc.hint else str(exc)
    return None


def _launcher_names() -> Sequence[str]:
    from harness.launchers import launchers

    return tuple(launchers())


@dataclass(frozen=True)
class Option:
    """One run option, the way every front end offers it."""

    field: str  # the RunOptions field
    help: str
    choices: Callable[[], Sequence[str]] | None = None  # a function, so tables load when asked
    check: Callable[[str], str | None] | None = None  # the problem with a value, or None

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")

    @property
    def ini(self) -> str:
        return "harness_" + self.field

    @property
    def default(self) -> str | None:
        value = RunOptions.__dataclass_fields__[self.field].default
        return value if isinstance(value, str) else None

    @property
    def boolean(self) -> bool:
        """A switch (``--skip-without-nvml``) rather than a flag with a value."""
        return isinstance(RunOptions.__dataclass_fields__[self.field].default, bool)

    def validate(self, value: str) -> str:
        if self.choices is not None and value not in (names := self.choices()):
            raise OptionError(f"{self.flag} {value!r}: choose one of {', '.join(names)}")
        if self.check is not None and (problem := self.check(value)):
            raise OptionError(f"{self.flag} {value!r}: {problem}")
        return value


OPTIONS: tuple[Option, ...] = (
    Option(
        "nvml",
        "run scenarios on the simulated node (sim, the default) or on this machine's GPUs (real)",
        choices=lambda: NVML_CHOICES,
    ),
    Option(
        "plugin_cmd",
        "run this plugin command line instead of ours in-process (templates {socket_dir} "
        "{kubelet_socket} {nvml} {python} {scenario_dir}, and the scenario's own)",
        check=_check_command,
    ),
    Option(
        "launcher",
        "how to run the plugin, whatever the scenarios say (inprocess, subprocess, namespace, "
        "container, or one an installed package adds)",
        choices=_launcher_names,
    ),
    Option(
        "plugin_image",
        "run this container image as the plugin, as NVIDIA's guide runs its image (container launcher; "
        "localhost/gpu-device-plugin:dev is ours, built from this checkout on first use)",
    ),
    Option(
        "plugin_manifest",
        "run the plugin container of this DaemonSet, Deployment or Pod manifest as the kubelet would "
        "(image, command/args, env, securityContext, the device-plugins hostPath); with --plugin-image, "
        "that image replaces the manifest's",
    ),
    Option(
        "plugin_profile",
        "what the plugin under test claims: a shipped profile (nvidia, ours, generic, "
        "generic-device-plugin) or a profile file (default: ours in-process, nvidia for a plugin "
        "given as a command, an image or a manifest; docs/conformance.md)",
    ),
    Option(
        "node",
        "simulate this node (e.g. 1xH100, 8xH100) instead of each scenario's own; cases whose "
        "requires exclude it, or that define their own node layout, are skipped with the reason",
    ),
    Option(
        "skip_without_nvml",
        "with --nvml real on a machine where NVML cannot be used: skip every case with the reason "
        "instead of stopping the run with an error (the run still exits 5: nothing ran)",
    ),
)

assert {o.field for o in OPTIONS} == {f.name for f in fields(RunOptions)}, "one row per RunOptions field"


def run_options(values: Mapping[str, str | bool | None]) -> RunOptions:
    """RunOptions from front-end values by field name (None or False = the default); raises OptionError.

    A flag given with an empty value (``--plugin-cmd ''``) is an error, not the default: a run
    that quietly tested our own plugin instead would pass."""
    given: dict[str, str | bool] = {}
    for option in OPTIONS:
        value = values.get(option.field)
        if value is None or value is False:
            continue
        if option.boolean:
            given[option.field] = True
        elif not str(value).strip():
            raise OptionError(f"{option.flag} is empty: give a value, or leave the flag out for the default")
        else:
            given[option.field] = option.validate(str(value))
    options = RunOptions(**given)  # type: ignore[arg-type]  # each value's type follows its row
    if options.skip_without_nvml and options.nvml != "real":
        raise OptionError("--skip-without-nvml applies only with --nvml real")
    return options


def rerun_args(options: RunOptions) -> list[str]:
    """The flags that reproduce ``options`` (those that differ from the defaults)."""
    out: list[str] = []
    for option in OPTIONS:
        value = getattr(options, option.field)
        if value is True:
            out.append(option.flag)
        elif value and value != option.default:
            out += [option.flag, value]
    return out


GRPC_LOG_HELP = "show gRPC's own C-core log lines (quiet by default)"


def quiet_grpc(show_log: bool = False) -> None:
    """Keep gRPC's C-core log (``chttp2_transport ... Got goaway``) off the console.

    gRPC reads GRPC_VERBOSITY once, when it is first imported, so front ends call this before
    anything imports grpc; plugin processes inherit it. A value the user exported wins.
    """
    os.environ.setdefault("GRPC_VERBOSITY", "INFO" if show_log else "ERROR")
