"""A plugin profile: what black-box scenarios may expect of a plugin the library did not write.

A profile names the plugin's resource, its socket, how it lists GPUs (UUIDs, indices or IDs
of its own), the env var that names allocated devices, its config-file flag, the features it
claims (:mod:`harness.features`) and its time bounds. Profiles are YAML files parsed
by the scenario model's parser, so a typo is a ``file:line:col`` error with a "did you mean".
``extends: nvidia`` starts from a shipped profile: keys given override it, ``features`` add to
its claims and ``drop_features`` remove some.
"""

# ruff: noqa: RUF009  (doc() returns dataclasses.field(...) with documentation)
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import Loc, ScenarioError, did_you_mean
from harness.loader import YNode, load_file
from harness.model.duration import Duration
from harness.model.schema import ParseCtx, doc, loc_field, parse_dataclass, yaml_fields
from harness.requires import check_features
from harness.templating import PROFILE_KEYS

SHIPPED_DIR = Path(__file__).resolve().parent
IdScheme = Literal["uuid", "index", "opaque"]


@dataclass
class Bounds:
    """How soon the plugin does what the kubelet waits for (each a deadline of an ``expect``)."""

    register: Duration = doc("start → registered, every device listed", default=Duration(5.0))
    reregister: Duration = doc(
        "kubelet restart (kubelet.sock created anew) → registered again", default=Duration(5.0)
    )
    health: Duration = doc(
        "a fault on the node → the device Unhealthy in ListAndWatch", default=Duration(2.0)
    )
    exit: Duration = doc(
        "a plugin that must exit (bad config, init failure) has exited", default=Duration(2.0)
    )
    loc: Loc = loc_field()


BOUNDS = tuple(key for key, _ in yaml_fields(Bounds))


@dataclass
class Profile:
    """What the plugin under test is, as far as the kubelet can tell."""

    name: str = doc("a short name (reports say which profile ran)")
    description: str = doc("one line: which plugin, which version", default="")
    extends: str | None = doc("a shipped profile (or a file) this one starts from", default=None)
    resource: str = doc("the resource its whole GPUs are registered as", default="nvidia.com/gpu")
    endpoint: str | None = doc(
        "the socket file name it registers that resource on (null: not predictable)", default=None
    )
    device_ids: IdScheme = doc(
        "how ListAndWatch names a GPU: 'uuid' (GPU-...), 'index' (0, 1, ...) or 'opaque' (its own IDs; "
        "cases that name a GPU skip)",
        default="uuid",
    )
    visible_devices: str | None = doc(
        "the env var of an Allocate answer that lists the devices (null: none)", default=None
    )
    config_flag: str | None = doc(
        "the flag a scenario's 'config:' file is passed with (null: the plugin reads no config file)",
        default=None,
    )
    features: list[str] = doc(
        "the features it claims (docs/conformance.md, 'Features')", default_factory=list
    )
    drop_features: list[str] = doc("with extends: claims of the base profile to remove", default_factory=list)
    bounds: Bounds = doc("its time bounds", default_factory=Bounds)
    path: str = field(default="", metadata={"yaml": False})
    loc: Loc = loc_field()

    def claims(self, feature: str) -> bool:
        return feature in self.features

    def missing(self, needs: list[str]) -> list[str]:
        """The features of ``needs`` this profile does not claim, in order."""
        return [f for f in needs if f not in self.features]

    def bound(self, name: str) -> float:
        return float(getattr(self.bounds, name))

    def value(self, key: str) -> str | None:
        """What ``{profile.KEY}`` stands for (None when the profile leaves it open)."""
        if key in BOUNDS:
            return str(getattr(self.bounds, key))
        return getattr(self, key)  # type: ignore[no-any-return]


# What ``{profile.KEY}`` may name: the template syntax checks keys at load time, the profile answers them.
TEMPLATE_KEYS = PROFILE_KEYS


def shipped() -> list[str]:
    """The names of the profiles that ship with the harness."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


def _locate(ref: str, base: Path | None) -> Path:
    """A shipped name (``nvidia``) or a file path → the profile file."""
    candidate = Path(ref)
    if base is not None and not candidate.is_absolute():
        candidate = base / candidate
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        if not candidate.is_file():
            raise ScenarioError(Loc(str(candidate), 0, 0), "no such plugin profile file", snippet=False)
        return candidate
    path = SHIPPED_DIR / f"{ref}.yaml"
    if not path.is_file():
        hint = did_you_mean(ref, shipped()) or f"shipped profiles: {', '.join(shipped())}, or give a file"
        raise ScenarioError(
            Loc(ref, 0, 0), f"no shipped plugin profile '{ref}'", suggestion=hint, snippet=False
        )
    return path


def _parse(node: YNode, path: Path, chain: tuple[str, ...]) -> Profile:
    ctx = ParseCtx(path.parent)
    own: Profile = parse_dataclass(Profile, node, ctx, "the profile")
    check_features(own.features, node.get("features"))
    check_features(own.drop_features, node.get("drop_features"), "drop_features")
    if own.config_flag is not None and not own.config_flag.startswith("-"):
        where = node.value["config_flag"].loc
        raise ScenarioError(
            where, f"'config_flag' is {own.config_flag!r}", expected="a flag such as --config-file"
        )
    if own.extends is None:
        if own.drop_features:
            raise ScenarioError(node.key_loc("drop_features"), "'drop_features' needs 'extends'")
        own.path = str(path)
        _consistent(own, node)
        return own
    base_path = _locate(own.extends, path.parent)
    if str(base_path.resolve()) in chain:
        raise ScenarioError(node.value["extends"].loc, f"profile extends cycle through {base_path.name}")
    merged = _parse(load_file(base_path), base_path, (*chain, str(base_path.resolve())))
    for key, f in yaml_fields(Profile):
        if key in ("extends", "features", "drop_features", "bounds") or key not in node.value:
            continue
        setattr(merged, f.name, getattr(own, f.name))
    if "bounds" in node.value:
        for key in node.value["bounds"].value:
            setattr(merged.bounds, key, getattr(own.bounds, key))
    dropped = set(own.drop_features)
    merged.features = [f for f in merged.features if f not in dropped]
    merged.features += [f for f in own.features if f not in merged.features]
    merged.extends = own.extends
    merged.path = str(path)
    merged.loc = own.loc
    _consistent(merged, node)
    return merged


def _consistent(profile: Profile, node: YNode) -> None:
    """Claims that need a value: a fixed endpoint needs its name, GPU IDs need a scheme."""
    if profile.claims("fixed-endpoint") and not profile.endpoint:
        raise ScenarioError(
            node.loc, f"profile '{profile.name}' claims fixed-endpoint but gives no 'endpoint'"
        )
    if profile.claims("gpu-ids") and profile.device_ids == "opaque":
        raise ScenarioError(node.loc, f"profile '{profile.name}' claims gpu-ids but says device_ids: opaque")
    if profile.claims("config-file") and not profile.config_flag:
        raise ScenarioError(
            node.loc, f"profile '{profile.name}' claims config-file but gives no 'config_flag'"
        )
    if profile.claims("visible-devices-env") and not profile.visible_devices:
        raise ScenarioError(
            node.loc, f"profile '{profile.name}' claims visible-devices-env but gives no 'visible_devices'"
        )


def load_profile(ref: str, base: Path | None = None) -> Profile:
    """A shipped profile by name (``nvidia``), or a profile file; raises ScenarioError."""
    path = _locate(ref, base)
    node = load_file(path)
    if not node.is_map:
        raise ScenarioError(node.loc, f"a plugin profile must be a mapping, not {node.kind()}")
    return _parse(node, path, (str(path.resolve()),))


def replace(profile: Profile, **changes: object) -> Profile:
    """A copy with some fields changed (tests, and the CLI's overrides)."""
    return dataclasses.replace(profile, **changes)  # type: ignore[arg-type]


__all__ = ["BOUNDS", "TEMPLATE_KEYS", "Bounds", "Profile", "load_profile", "replace", "shipped"]
