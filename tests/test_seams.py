"""The Protocols at the seams are met by every object that stands on them.

mypy checks the signatures it can see, but ``FakeNVML``, its socket client and ``OverlayNVML``
answer unknown names through ``__getattr__``, which mypy takes as "has every member". These
tests check what the type checker cannot: each member of the seam is really there.
"""

from __future__ import annotations

import inspect

import pynvml
import pytest

from fake_nvml import FakeNVML, OverlayNVML
from fake_nvml.api import surface_functions
from fake_nvml.client import NvmlClient
from harness.context import Node
from harness.launchers import BUILTIN, Launcher, LauncherBase, LaunchSpec
from plugin.nvmlapi import Nvml
from simkit import ObservationLog

# Functions the plugin calls that the simulated node answers NOT_SUPPORTED, as a GPU without the
# feature would (the plugin falls back: a MIG profile from the device name). Stale entries fail.
NOT_MODELLED: set[str] = set()  # nvmlDeviceGetAttributes is modelled now (MIG device attributes)


def members(protocol: type) -> list[str]:
    return sorted(
        name
        for name in dir(protocol)
        if not name.startswith("_") and name not in dir(object) and not hasattr(type, name)
    )


def defined(cls: type, name: str) -> bool:
    return any(name in vars(klass) for klass in cls.__mro__ if klass is not object)


@pytest.mark.parametrize("name", members(Nvml))
def test_every_nvml_function_the_plugin_calls_exists_on_each_nvml_object(name: str) -> None:
    assert callable(getattr(pynvml, name, None)), f"pynvml has no {name}"
    assert defined(FakeNVML, name) != (name in NOT_MODELLED), f"FakeNVML and NOT_MODELLED disagree on {name}"
    forwarded = name in surface_functions() or defined(NvmlClient, name)
    assert forwarded != (name in NOT_MODELLED), (
        f"FakeNVML.connect()'s client and NOT_MODELLED disagree on {name}"
    )
    # The overlay passes everything but event sets through to pynvml.
    assert defined(OverlayNVML, name) or callable(getattr(pynvml, name)), name


@pytest.mark.parametrize("name", members(Node))
def test_the_simulated_node_offers_everything_the_harness_injects(name: str) -> None:
    assert defined(FakeNVML, name), f"FakeNVML has no {name}"


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_each_built_in_launcher_offers_the_launcher_protocol(kind: str) -> None:
    cls = BUILTIN[kind]
    launcher = object.__new__(cls)  # type: ignore[call-overload]
    LauncherBase.__init__(launcher, LaunchSpec([], {}, "/s", "/s/kubelet.sock"), ObservationLog())
    for name in members(Launcher):
        assert defined(cls, name) or name in vars(launcher), f"{kind} launcher has no {name}"
    assert isinstance(cls.needs_command, bool)
    assert list(inspect.signature(cls).parameters) == ["spec", "log"]
