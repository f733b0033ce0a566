"""The fault catalogue: every fault a node takes, its arguments, and whether real NVML can carry it.

One table for the vocabulary (issue 10): ``FakeNVML``'s injection methods and ``schedule``, the
real-GPU overlay's refusals, the node protocol's ``inject`` op and ``python -m fake_nvml ctl``,
the scenario step ``inject:`` (its keys, checks, dispatch and reference docs) and ``requires`` all
read it. A fault's first parameter is the value of its own key (``inject: {xid: 79, gpu: gpu2}``:
``xid`` is 79); the others are modifiers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["gpu", "int", "choice", "function", "error", "seconds", "profiles"]
REQUIRED: Any = object()


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    help: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def parse(self, text: str) -> Any:
        """A command-line word → this parameter's value (ValueError says what was expected)."""
        if self.kind == "gpu":
            index = text.removeprefix("gpu")
            return int(index) if index.isdigit() else text
        if self.kind == "int":
            try:
                return int(text, 0)
            except ValueError:
                raise ValueError(f"{self.name} is an integer, got {text!r}") from None
        if self.kind == "seconds":
            try:
                return float(text.removesuffix("s"))
            except ValueError:
                raise ValueError(f"{self.name} is a number of seconds, got {text!r}") from None
        if self.kind == "choice" and text not in self.choices:
            raise ValueError(f"{self.name} is one of {', '.join(self.choices)}, got {text!r}")
        if self.kind == "error" and text.isdigit():
            return int(text)
        if self.kind == "profiles":
            return [p for p in text.split(",") if p]
        return text


def _same(args: dict[str, Any]) -> dict[str, Any]:
    return args


@dataclass(frozen=True)
class Fault:
    name: str  # the scenario key, the protocol's "fault"
    method: str  # the FakeNVML method that makes it
    summary: str
    params: tuple[Param, ...]
    describe: str  # how a report names one, formatted with the arguments
    real: bool = False  # real NVML can carry it (the overlay merges it into event sets)
    verb: str = ""  # the ctl command (default: the name)
    to_method: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_same, repr=False)

    @property
    def command(self) -> str:
        return self.verb or self.name

    @property
    def value(self) -> Param:
        return self.params[0]

    @property
    def modifiers(self) -> tuple[Param, ...]:
        return self.params[1:]

    def complete(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments with defaults filled in; ValueError names what is missing or unknown."""
        names = [p.name for p in self.params]
        unknown = [k for k in args if k not in names]
        if unknown:
            raise ValueError(f"'{unknown[0]}' does not apply to '{self.name}' (it takes {', '.join(names)})")
        out = {}
        for p in self.params:
            if p.name in args and args[p.name] is not None:
                out[p.name] = args[p.name]
            elif p.required:
                raise ValueError(f"'{self.name}' needs '{p.name}' ({p.help})")
            else:
                out[p.name] = p.default
        return out

    def apply(self, node: Any, args: Mapping[str, Any]) -> Any:
        """Make the fault on ``node`` (a FakeNVML, or the real-GPU overlay)."""
        return getattr(node, self.method)(**self.to_method(self.complete(args)))

    def title(self, args: Mapping[str, Any]) -> str:
        shown = {
            p.name: f"gpu{v}" if p.kind == "gpu" and isinstance(v, int) else v
            for p, v in zip(self.params, self.complete(args).values(), strict=True)
        }
        return self.describe.format(**shown)


def _gpu(name: str, help: str = "the GPU: an index, a UUID or gpuN") -> Param:
    return Param(name, "gpu", help)


FAULTS: tuple[Fault, ...] = (
    Fault(
        "xid",
        "inject_xid",
        "an XID critical error on 'gpu' (optionally scoped to a MIG 'gi'/'ci')",
        (
            Param("xid", "int", "the XID (e.g. 79: fallen off the bus, 48: double-bit ECC, 13: app error)"),
            _gpu("gpu", "which GPU it happens on"),
            Param("gi", "int", "GPU instance id of an XID (overrides the one from gpuN/migM)", None),
            Param("ci", "int", "compute instance id of an XID (overrides the one from gpuN/migM)", None),
        ),
        "XID {xid} on {gpu}",
        real=True,
    ),
    Fault(
        "ecc",
        "inject_ecc",
        "an ECC error event (single- or double-bit) on 'gpu'",
        (
            Param("ecc", "choice", "single or double", choices=("single", "double")),
            _gpu("gpu", "which GPU it happens on"),
        ),
        "{ecc}-bit ECC error on {gpu}",
        real=True,
        to_method=lambda a: {"gpu": a["gpu"], "double_bit": a["ecc"] == "double"},
    ),
    Fault(
        "gpu_lost",
        "lose_gpu",
        "the GPU falls off the bus (its calls and event waits answer GPU_IS_LOST)",
        (_gpu("gpu_lost"),),
        "{gpu_lost} falls off the bus",
        verb="lose",
        to_method=lambda a: {"gpu": a["gpu_lost"]},
    ),
    Fault(
        "recover",
        "recover_gpu",
        "a lost GPU comes back (undoes gpu_lost)",
        (_gpu("recover"),),
        "{recover} comes back",
        to_method=lambda a: {"gpu": a["recover"]},
    ),
    Fault(
        "hide",
        "hide_gpu",
        "the GPU disappears from the device count (later indices shift)",
        (_gpu("hide"),),
        "{hide} disappears from the device count",
        to_method=lambda a: {"gpu": a["hide"]},
    ),
    Fault(
        "unhide",
        "unhide_gpu",
        "a hidden GPU returns",
        (_gpu("unhide"),),
        "{unhide} returns to the device count",
        to_method=lambda a: {"gpu": a["unhide"]},
    ),
    Fault(
        "events_unsupported",
        "unsupported_events",
        "nvmlDeviceRegisterEvents answers NOT_SUPPORTED for the GPU (supported types read 0)",
        (_gpu("events_unsupported"),),
        "{events_unsupported} supports no events",
        to_method=lambda a: {"gpu": a["events_unsupported"]},
    ),
    Fault(
        "nvml_error",
        "fail_calls",
        "an NVML function (e.g. nvmlEventSetWait, with its versioned symbols) fails with 'error', "
        "'count' times",
        (
            Param("nvml_error", "function", "the NVML function"),
            Param("error", "error", "NVML error: a name (GPU_IS_LOST, UNKNOWN, ...) or a code", "UNKNOWN"),
            Param("count", "int", "how many calls fail (nvml_error); 0: every call from now on", 1),
        ),
        "{nvml_error} fails with {error} ({count} calls; 0: every call)",
        verb="fail",
        to_method=lambda a: {"function": a["nvml_error"], "error": a["error"], "count": a["count"] or None},
    ),
    Fault(
        "latency",
        "add_latency",
        "an NVML function answers 'seconds' late (0 clears it)",
        (
            Param("latency", "function", "the NVML function"),
            Param("seconds", "seconds", "added latency", 1.0),
        ),
        "{latency} answers {seconds} s late",
        to_method=lambda a: {"function": a["latency"], "seconds": float(a["seconds"])},
    ),
    Fault(
        "init_failure",
        "fail_init",
        "nvmlInit fails from now on, as with the library missing or the driver not loaded ('none' clears it)",
        (
            Param(
                "init_failure",
                "choice",
                "library_not_found, driver_not_loaded or none",
                choices=("library_not_found", "driver_not_loaded", "none"),
            ),
        ),
        "nvmlInit fails: {init_failure}",
        to_method=lambda a: {"mode": None if a["init_failure"] == "none" else a["init_failure"]},
    ),
    Fault(
        "enable_mig",
        "enable_mig",
        "MIG turns on for the GPU with these MIG devices (a MIG config change event)",
        (_gpu("enable_mig"), Param("profiles", "profiles", "MIG profiles, one per device (e.g. 3g.40gb)")),
        "MIG on {enable_mig}: {profiles}",
        to_method=lambda a: {"gpu": a["enable_mig"], "profiles": list(a["profiles"])},
    ),
    Fault(
        "disable_mig",
        "disable_mig",
        "MIG turns off for the GPU (a MIG config change event)",
        (_gpu("disable_mig"),),
        "MIG off on {disable_mig}",
        to_method=lambda a: {"gpu": a["disable_mig"]},
    ),
    Fault(
        "clear_faults",
        "clear_faults",
        "every call fault, init failure, lost/hidden GPU and unsupported-events flag is undone",
        (Param("clear_faults", "choice", "all", choices=("all",)),),
        "every fault cleared",
        verb="clear",
        to_method=lambda a: {},
    ),
)

BY_NAME: dict[str, Fault] = {f.name: f for f in FAULTS}
BY_COMMAND: dict[str, Fault] = {f.command: f for f in FAULTS}
METHODS: tuple[str, ...] = tuple(f.method for f in FAULTS)


def fault(name: str) -> Fault:
    """A fault by name (scenario key) or ctl command; ValueError lists the known ones."""
    found = BY_NAME.get(name) or BY_COMMAND.get(name)
    if found is None:
        raise ValueError(f"unknown fault {name!r}; the node takes {', '.join(BY_NAME)}")
    return found


def simulated_only() -> list[str]:
    """The faults only a simulated node can make (real GPUs cannot be told to misbehave so)."""
    return [f.name for f in FAULTS if not f.real]


TABLE_BEGIN = "<!-- BEGIN FAULT CATALOGUE (fake_nvml.injections.markdown) -->"
TABLE_END = "<!-- END FAULT CATALOGUE -->"


def markdown() -> str:
    """The catalogue as the table in docs/nvml-protocol.md (a test keeps the docs current)."""
    rows = [
        TABLE_BEGIN,
        "| fault (scenario key, `inject` op) | ctl | arguments | real NVML can carry it | what happens |",
        "|---|---|---|---|---|",
    ]
    for f in FAULTS:
        args = ", ".join(f"`{p.name}`" + ("" if p.required else f" (default {p.default})") for p in f.params)
        rows.append(f"| `{f.name}` | `{f.command}` | {args} | {'yes' if f.real else 'no'} | {f.summary} |")
    return "\n".join([*rows, TABLE_END])
