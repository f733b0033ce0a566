"""NVIDIA's command-line flags and environment variables, plus ours, as one table.

Each flag knows its aliases, its environment variable(s), where it lives in the config file and
its default, so that precedence (flag > env > config file > default) is resolved in one place
(:mod:`plugin.config`). Parsing follows Go's ``flag``/urfave-cli conventions that NVIDIA's
users rely on: ``-flag`` and ``--flag``, ``--flag=value`` or ``--flag value``, booleans as a bare
``--flag`` or ``--flag=false``, list flags repeated or comma separated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plugin.errors import ConfigError, HelpRequested

BOOL, STR, LIST, INTLIST = "bool", "str", "list", "intlist"
VERSION = "0.20.0"  # the NVIDIA k8s-device-plugin release whose behaviour we follow

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class Flag:
    name: str
    kind: str
    default: Any
    env: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    config: str | None = None  # dotted path in the config file
    help: str = ""
    ours: bool = False  # not one of NVIDIA's flags


FLAGS: tuple[Flag, ...] = (
    Flag(
        "mig-strategy",
        STR,
        "none",
        ("MIG_STRATEGY",),
        config="flags.migStrategy",
        help="how MIG devices are exposed: none | single | mixed",
    ),
    Flag(
        "fail-on-init-error",
        BOOL,
        True,
        ("FAIL_ON_INIT_ERROR",),
        config="flags.failOnInitError",
        help="exit 1 when NVML cannot be initialised (false: log and serve no resources)",
    ),
    Flag(
        "driver-root",
        STR,
        "/",
        ("NVIDIA_DRIVER_ROOT",),
        ("nvidia-driver-root",),
        config="flags.nvidiaDriverRoot",
        help="root of the NVIDIA driver installation",
    ),
    Flag(
        "dev-root",
        STR,
        "",
        ("NVIDIA_DEV_ROOT",),
        ("nvidia-dev-root",),
        config="flags.nvidiaDevRoot",
        help="root of the /dev/nvidia* device nodes on the host (default: --driver-root)",
    ),
    Flag(
        "pass-device-specs",
        BOOL,
        False,
        ("PASS_DEVICE_SPECS",),
        config="flags.plugin.passDeviceSpecs",
        help="pass DeviceSpecs for the device nodes in Allocate responses",
    ),
    Flag(
        "device-list-strategy",
        LIST,
        ("envvar",),
        ("DEVICE_LIST_STRATEGY",),
        config="flags.plugin.deviceListStrategy",
        help="how devices reach the runtime: envvar | volume-mounts | cdi-annotations | cdi-cri",
    ),
    Flag(
        "device-id-strategy",
        STR,
        "uuid",
        ("DEVICE_ID_STRATEGY",),
        config="flags.plugin.deviceIDStrategy",
        help="device ids given to the runtime: uuid | index",
    ),
    Flag(
        "gdrcopy-enabled",
        BOOL,
        False,
        ("GDRCOPY_ENABLED",),
        config="flags.gdrcopyEnabled",
        help="start containers with NVIDIA_GDRCOPY=enabled",
    ),
    Flag(
        "gds-enabled",
        BOOL,
        False,
        ("GDS_ENABLED",),
        config="flags.gdsEnabled",
        help="start containers with NVIDIA_GDS=enabled",
    ),
    Flag(
        "mofed-enabled",
        BOOL,
        False,
        ("MOFED_ENABLED",),
        config="flags.mofedEnabled",
        help="start containers with NVIDIA_MOFED=enabled",
    ),
    Flag(
        "cdi-annotation-prefix",
        STR,
        "cdi.k8s.io/",
        ("CDI_ANNOTATION_PREFIX",),
        config="flags.plugin.cdiAnnotationPrefix",
        help="prefix of CDI annotation keys",
    ),
    Flag(
        "nvidia-cdi-hook-path",
        STR,
        "/usr/bin/nvidia-ctk",
        ("NVIDIA_CDI_HOOK_PATH", "NVIDIA_CTK_PATH"),
        ("nvidia-ctk-path",),
        config="flags.plugin.nvidiaCTKPath",
        help="path of the NVIDIA CDI hook named in the generated CDI specs",
    ),
    Flag(
        "driver-root-ctr-path",
        STR,
        "/driver-root",
        ("DRIVER_ROOT_CTR_PATH", "CONTAINER_DRIVER_ROOT"),
        ("container-driver-root",),
        config="flags.plugin.containerDriverRoot",
        help="where the driver root is mounted in the plugin's container (libnvidia-ml.so.1, its dev root)",
    ),
    Flag(
        "mps-root",
        STR,
        "",
        ("MPS_ROOT",),
        config="flags.mpsRoot",
        help="host path where the MPS control daemon keeps its pipe and shm (needed with sharing.mps)",
    ),
    Flag(
        "shared-devices-allocation-policy",
        STR,
        "distributed",
        ("SHARED_DEVICES_ALLOCATION_POLICY",),
        config="flags.plugin.sharedDevicesAllocationPolicy",
        help="preferred allocation of replicas: distributed | packed",
    ),
    Flag(
        "device-discovery-strategy",
        STR,
        "auto",
        ("DEVICE_DISCOVERY_STRATEGY",),
        config="flags.deviceDiscoveryStrategy",
        help="how devices are found: auto (detect the platform) | nvml | tegra",
    ),
    Flag(
        "imex-channel-ids",
        INTLIST,
        (),
        ("IMEX_CHANNEL_IDS",),
        config="imex.channelIDs",
        help="IMEX channels to inject",
    ),
    Flag(
        "imex-required",
        BOOL,
        False,
        ("IMEX_REQUIRED",),
        config="imex.required",
        help="the IMEX channels are required",
    ),
    Flag("cdi-feature-flags", LIST, (), ("CDI_FEATURE_FLAGS",), help="feature flags of CDI spec generation"),
    Flag(
        "cdi-disable-hooks",
        LIST,
        (),
        ("CDI_DISABLE_HOOKS",),
        help="CDI hooks left out of the generated specs ('all': every hook)",
    ),
    Flag(
        "kubelet-socket",
        STR,
        "/var/lib/kubelet/device-plugins/kubelet.sock",
        ("KUBELET_SOCKET",),
        help="the kubelet's registration socket; empty: never register",
    ),
    Flag("config-file", STR, "", ("CONFIG_FILE",), help="YAML/JSON config file (version v1)"),
    # ours
    Flag(
        "socket-dir",
        STR,
        "",
        ("DP_SOCKET_DIR",),
        ours=True,
        help="where our sockets go (default: the kubelet socket's directory)",
    ),
    Flag(
        "nvml",
        STR,
        "real",
        ("DP_NVML",),
        ours=True,
        help="NVML to use: real (pynvml) | sim:<spec> | connect:<socket>",
    ),
    Flag(
        "cdi-root",
        STR,
        "/var/run/cdi",
        ("DP_CDI_ROOT",),
        ours=True,
        help="where CDI spec files are written (NVIDIA: always /var/run/cdi)",
    ),
    Flag(
        "mps-container-root",
        STR,
        "/mps",
        ("DP_MPS_CONTAINER_ROOT",),
        ours=True,
        help="where --mps-root is seen from the plugin (NVIDIA: always /mps, its DaemonSet's mount)",
    ),
    Flag(
        "health-recovery",
        BOOL,
        False,
        ("DP_HEALTH_RECOVERY",),
        ours=True,
        help="let an unhealthy device return to Healthy when NVML says it is healthy again",
    ),
)

BY_NAME: dict[str, Flag] = {}
for _flag in FLAGS:
    for _name in (_flag.name, *_flag.aliases):
        BY_NAME[_name] = _flag


def usage() -> str:
    lines = ["usage: gpu-device-plugin [flags]", ""]
    for flag in FLAGS:
        names = ", ".join("--" + n for n in (flag.name, *flag.aliases))
        env = f" [${', $'.join(flag.env)}]" if flag.env else ""
        lines.append(f"  {names}{env}\n        {flag.help} (default {flag.default!r})")
    return "\n".join(lines)


def parse_bool(text: str, source: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"invalid boolean value {text!r} for {source} (expected true or false)")


def convert(flag: Flag, value: Any, source: str) -> Any:
    """Turn a raw flag/env/config value into the flag's type, naming ``source`` when it is wrong."""
    if flag.kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return parse_bool(value, source)
        raise ConfigError(f"invalid value {value!r} for {source}: expected a boolean")
    if flag.kind == STR:
        if isinstance(value, str):
            return value
        raise ConfigError(f"invalid value {value!r} for {source}: expected a string")
    items: list[Any]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ConfigError(f"invalid value {value!r} for {source}: expected a list")
    if flag.kind == LIST:
        if not all(isinstance(i, str) for i in items):
            raise ConfigError(f"invalid value {value!r} for {source}: expected a list of strings")
        return tuple(items)
    out = []
    for item in items:
        try:
            out.append(int(item))
        except (TypeError, ValueError):
            raise ConfigError(f"invalid value {item!r} for {source}: expected an integer") from None
    return tuple(out)


def parse_argv(argv: Sequence[str]) -> dict[str, Any]:
    """Flags given on the command line, keyed by canonical name (list flags accumulate)."""
    given: dict[str, Any] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("-h", "--help", "-help"):
            raise HelpRequested(usage())
        if arg in ("-v", "--version", "-version"):
            raise HelpRequested(
                f"gpu-device-plugin version {VERSION} (behaviour of NVIDIA k8s-device-plugin v{VERSION})"
            )
        if not arg.startswith("-") or arg in ("-", "--"):
            raise ConfigError(f"unexpected argument {arg!r} (the plugin takes only flags; see --help)")
        body = arg.lstrip("-")
        name, has_value, value = body.partition("=")
        flag = BY_NAME.get(name)
        if flag is None:
            raise ConfigError(f"flag provided but not defined: -{name} (see --help)")
        source = f"flag --{name}"
        if flag.kind == BOOL:
            given[flag.name] = parse_bool(value, source) if has_value else True
            continue
        if not has_value:
            if i >= len(args):
                raise ConfigError(f"flag needs an argument: --{name}")
            value = args[i]
            i += 1
        converted = convert(flag, value, source)
        if flag.kind in (LIST, INTLIST):
            given[flag.name] = tuple(given.get(flag.name, ())) + tuple(converted)
        else:
            given[flag.name] = converted
    return given


def from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Flags set through their environment variables (the first one set wins)."""
    found: dict[str, Any] = {}
    for flag in FLAGS:
        for var in flag.env:
            if var in env:
                if env[var] == "" and flag.kind != STR:
                    break  # urfave-cli: an empty variable sets nothing but strings
                found[flag.name] = convert(flag, env[var], f"environment variable {var}")
                break
    return found
