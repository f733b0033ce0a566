"""The plugin's configuration: flags > environment > config file > defaults, validated once.

``load_config(argv, env)`` takes the environment as a mapping (the core never reads
``os.environ``), so an in-process harness can give every plugin instance its own environment,
including ``DP_DISABLE_HEALTHCHECKS`` / ``DP_ENABLE_HEALTHCHECKS``. Every error is one line that
names the bad value and where it came from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from deviceplugin.v1beta1 import DEVICE_PLUGIN_PATH, MAX_UNIX_SOCKET_PATH
from plugin import flags as _flags
from plugin.errors import ConfigError
from plugin.imex import check_channel_ids
from plugin.platform import Strategy
from plugin.replicas import check_resources
from plugin.resources import socket_name
from plugin.sharing import Sharing, parse_sharing
from plugin.xids import HealthChecks, health_checks_from_env

DEVICE_PLUGIN_DIR = DEVICE_PLUGIN_PATH.rstrip("/")  # where the kubelet looks for plugin sockets

MIG_STRATEGIES = ("none", "single", "mixed")
DEVICE_LIST_STRATEGIES = ("envvar", "volume-mounts", "cdi-annotations", "cdi-cri")
CDI_STRATEGIES = ("cdi-annotations", "cdi-cri")
DEVICE_ID_STRATEGIES = ("uuid", "index")
ALLOCATION_POLICIES = ("distributed", "packed")
DISCOVERY_STRATEGIES = tuple(Strategy)
_KNOWN_TOP_LEVEL = {"version", "flags", "sharing", "resources", "imex"}


@dataclass(frozen=True)
class Config:
    """Everything the plugin needs to run; build it with :func:`load_config`."""

    mig_strategy: str = "none"
    fail_on_init_error: bool = True
    driver_root: str = "/"
    dev_root: str = "/"  # load_config: --dev-root, or --driver-root when unset (NVIDIA's NewConfig)
    pass_device_specs: bool = False
    device_list_strategy: tuple[str, ...] = ("envvar",)
    device_id_strategy: str = "uuid"
    gdrcopy_enabled: bool = False
    gds_enabled: bool = False
    mofed_enabled: bool = False
    cdi_annotation_prefix: str = "cdi.k8s.io/"
    nvidia_cdi_hook_path: str = "/usr/bin/nvidia-ctk"
    driver_root_ctr_path: str = "/driver-root"
    mps_root: str = ""
    mps_container_root: str = "/mps"
    shared_devices_allocation_policy: str = "distributed"
    device_discovery_strategy: str = "auto"
    imex_channel_ids: tuple[int, ...] = ()
    imex_required: bool = False
    cdi_feature_flags: tuple[str, ...] = ()
    cdi_disable_hooks: tuple[str, ...] = ()
    cdi_root: str = "/var/run/cdi"
    kubelet_socket: str = f"{DEVICE_PLUGIN_DIR}/kubelet.sock"
    config_file: str = ""
    socket_dir: str = ""
    nvml: str = "real"
    health_recovery: bool = False
    sharing: Sharing | None = None
    health: HealthChecks = field(default_factory=HealthChecks)
    # Tuning knobs for in-process use (not flags): see docs/plugin.md.
    health_wait_ms: int = 5000
    recovery_probe_interval_s: float = 1.0
    recovery_probes: int = 3
    register_timeout_s: float = 5.0
    register_backoff_initial_s: float = 0.05
    register_backoff_cap_s: float = 5.0
    restart_delay_s: float = 30.0
    # What it was loaded from, so that every rebuild can load it again (the file may have changed).
    loaded: bool = field(default=False, compare=False, repr=False)  # made by load_config
    argv: tuple[str, ...] = field(default=(), compare=False, repr=False)
    env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    # Where each value came from ("default", "flag --x", "environment variable X", "config file F: ...").
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def plugin_socket_dir(self) -> str:
        """Where our sockets live: ``--socket-dir``, the kubelet socket's directory, or (an empty
        ``--kubelet-socket``: never register) the kubelet's device-plugin directory, as NVIDIA's."""
        if self.socket_dir:
            return self.socket_dir
        return os.path.dirname(self.kubelet_socket) or DEVICE_PLUGIN_DIR

    def socket_path(self, socket_name: str) -> str:
        return os.path.join(self.plugin_socket_dir, socket_name)

    @property
    def cdi_only(self) -> bool:
        return all(s in CDI_STRATEGIES for s in self.device_list_strategy)


def _attr(flag_name: str) -> str:
    return flag_name.replace("-", "_")


def _dig(document: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _read_config_file(path: str) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError(f"config file {path!r}: cannot be read: {exc.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {where}: not valid YAML/JSON: {problem}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(f"config file {path}: expected a mapping at the top, got {type(document).__name__}")
    version = document.get("version", "v1")
    if version != "v1":
        raise ConfigError(f"config file {path}: unknown version: {version!r} (expected v1)")
    return document


def load_config(argv: Sequence[str], env: Mapping[str, str]) -> Config:
    """Parse flags and the given environment (and the config file they name) into a :class:`Config`."""
    given = _flags.parse_argv(argv)
    from_env = _flags.from_env(env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []

    def pick(flag: _flags.Flag) -> bool:
        if flag.name in given:
            values[_attr(flag.name)], sources[_attr(flag.name)] = given[flag.name], f"flag --{flag.name}"
            return True
        if flag.name in from_env:
            var = next(v for v in flag.env if v in env)
            values[_attr(flag.name)] = from_env[flag.name]
            sources[_attr(flag.name)] = f"environment variable {var}"
            return True
        return False

    for flag in _flags.FLAGS:
        if not pick(flag):
            values[_attr(flag.name)], sources[_attr(flag.name)] = flag.default, "default"

    document: Mapping[str, Any] = {}
    path = values["config_file"]
    if path:
        document = _read_config_file(path)
        for key in document:
            if key not in _KNOWN_TOP_LEVEL:
                warnings.append(f"config file {path}: top-level key {key!r} is not known and was ignored")
        check_resources(document.get("resources"), f"config file {path}: resources", warnings)
        for flag in _flags.FLAGS:
            if flag.config is None or sources[_attr(flag.name)] != "default":
                continue
            found, raw = _dig(document, flag.config)
            if found and raw is not None:
                where = f"config file {path}: {flag.config}"
                values[_attr(flag.name)] = _flags.convert(flag, raw, where)
                sources[_attr(flag.name)] = where

    if not values["dev_root"]:
        values["dev_root"] = values["driver_root"]
        sources["dev_root"] = sources["driver_root"]
    sharing = parse_sharing(document.get("sharing"), f"config file {path}", warnings) if document else None
    config = Config(
        **values,
        sharing=sharing,
        health=health_checks_from_env(env),
        sources=sources,
        warnings=tuple(warnings),
        loaded=True,
        argv=tuple(argv),
        env=dict(env),
    )
    validate(config)
    return config


def reload_config(config: Config) -> Config:
    """Load ``config`` again from the flags and environment it came from (its file may have changed)."""
    return replace(load_config(config.argv, config.env), **_tuning(config))


def _tuning(config: Config) -> dict[str, Any]:
    """The in-process tuning knobs (no flag sets them): a reload keeps what the embedder chose."""
    return {name: getattr(config, name) for name in TUNING}


TUNING = (
    "health_wait_ms",
    "recovery_probe_interval_s",
    "recovery_probes",
    "register_timeout_s",
    "register_backoff_initial_s",
    "register_backoff_cap_s",
    "restart_delay_s",
)


def _from(config: Config, attr: str) -> str:
    source = config.sources.get(attr, "default")
    return "" if source == "default" else f" (from {source})"


def validate(config: Config) -> None:
    """NVIDIA's validation, with NVIDIA's wording, plus where the bad value came from."""
    if config.mig_strategy not in MIG_STRATEGIES:
        raise ConfigError(
            f"unknown MIG strategy: {config.mig_strategy!r} (expected none, single or mixed)"
            + _from(config, "mig_strategy")
        )
    if not config.device_list_strategy:
        raise ConfigError(
            "invalid --device-list-strategy option: no strategy given" + _from(config, "device_list_strategy")
        )
    for strategy in config.device_list_strategy:
        if strategy not in DEVICE_LIST_STRATEGIES:
            raise ConfigError(
                f"invalid --device-list-strategy option: invalid strategy: {strategy} "
                f"(expected one of {', '.join(DEVICE_LIST_STRATEGIES)})"
                + _from(config, "device_list_strategy")
            )
    if config.device_id_strategy not in DEVICE_ID_STRATEGIES:
        raise ConfigError(
            f"invalid --device-id-strategy option: {config.device_id_strategy} "
            "(expected uuid or index)" + _from(config, "device_id_strategy")
        )
    if config.shared_devices_allocation_policy not in ALLOCATION_POLICIES:
        raise ConfigError(
            "invalid --shared-devices-allocation-policy option: "
            f"{config.shared_devices_allocation_policy} (expected distributed or packed)"
            + _from(config, "shared_devices_allocation_policy")
        )
    if config.device_discovery_strategy not in DISCOVERY_STRATEGIES:
        raise ConfigError(
            f"invalid --device-discovery-strategy option {config.device_discovery_strategy} "
            "(expected auto, nvml or tegra)" + _from(config, "device_discovery_strategy")
        )
    imex_error = check_channel_ids(config.imex_channel_ids)
    if imex_error:
        raise ConfigError(imex_error + _from(config, "imex_channel_ids"))
    if config.sharing is not None and config.sharing.mps:
        if config.mig_strategy == "mixed":
            raise ConfigError(
                "using --mig-strategy=mixed is not supported with MPS" + _from(config, "mig_strategy")
            )
        if not config.mps_root:
            raise ConfigError("using MPS requires --mps-root to be specified")
    nvml = config.nvml
    if not (
        nvml == "real"
        or (nvml.startswith("sim:") and len(nvml) > 4)
        or (nvml.startswith("connect:") and len(nvml) > 8)
    ):
        raise ConfigError(
            f"invalid --nvml option: {nvml!r} (expected real, sim:<spec> or connect:<socket>)"
            + _from(config, "nvml")
        )
    for attr in ("driver_root", "dev_root"):
        if not getattr(config, attr):
            raise ConfigError(f"invalid --{attr.replace('_', '-')} option: empty path" + _from(config, attr))
    _check_socket_paths(config)


def _check_socket_paths(config: Config) -> None:
    """Socket paths are absolute (an empty --kubelet-socket means: never register).

    NVIDIA's plugin takes both as given: an empty --kubelet-socket skips registration and serves in
    the kubelet's device-plugin directory (ours too), a relative one is dialled and watched
    relative to the working directory. Ours derives its socket directory from the kubelet socket's,
    so a relative one would serve in the working directory, where no kubelet looks.
    """
    if config.kubelet_socket and not os.path.isabs(config.kubelet_socket):
        raise ConfigError(
            f"invalid --kubelet-socket option: {config.kubelet_socket!r} is not an absolute path"
            + _from(config, "kubelet_socket")
        )
    if config.socket_dir and not os.path.isabs(config.socket_dir):
        raise ConfigError(
            f"invalid --socket-dir option: {config.socket_dir!r} is not an absolute path"
            + _from(config, "socket_dir")
        )


def check_socket_dirs(config: Config) -> None:
    """Our socket directory exists, is a directory we may create sockets in, and leaves room for a
    socket name under the unix limit; the kubelet socket's directory exists (we watch it).

    Why at start and not when serving: none of these gets better by retrying (a too-long path
    was retried every 30 s forever), and creating a missing directory hides a typo behind a
    plugin that never reaches the kubelet. Raises ConfigError (``python -m plugin`` exits 2).
    """
    path = config.plugin_socket_dir
    named = "--socket-dir" if config.socket_dir else "the --kubelet-socket directory"
    where = _from(config, "socket_dir" if config.socket_dir else "kubelet_socket")
    if not os.path.exists(path):
        raise ConfigError(f"{named} {path!r} does not exist{where}")
    if not os.path.isdir(path):
        raise ConfigError(f"{named} {path!r} is not a directory{where}")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{named} {path!r}: permission denied (our sockets are created there){where}")
    first = config.socket_path(socket_name("nvidia.com/gpu"))
    if len(first.encode()) > MAX_UNIX_SOCKET_PATH:
        raise ConfigError(
            f"socket path {first!r} is {len(first.encode())} bytes, more than the {MAX_UNIX_SOCKET_PATH} "
            f"a unix socket path may have; choose a shorter {named}{where}"
        )
    kubelet_dir = os.path.dirname(config.kubelet_socket) if config.kubelet_socket else ""
    if kubelet_dir and kubelet_dir != path:
        if not os.path.isdir(kubelet_dir):
            raise ConfigError(
                f"--kubelet-socket {config.kubelet_socket!r}: its directory does not exist"
                + _from(config, "kubelet_socket")
            )
        if not os.access(kubelet_dir, os.R_OK | os.X_OK):
            raise ConfigError(
                f"--kubelet-socket {config.kubelet_socket!r}: its directory cannot be read (we watch it "
                "for kubelet restarts)" + _from(config, "kubelet_socket")
            )
