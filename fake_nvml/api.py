"""pynvml's surface over the node model: same function names, signatures, types and errors.

Each method mirrors one pynvml function (see nvidia-ml-py's ``pynvml.py``): strings where
pynvml decodes them (``convertStrBytes``), bytes in struct char arrays, pynvml's own ctypes
structs, ``(major, minor)`` tuples, ``[current, pending]`` lists, and errors raised as
``pynvml.NVMLError(code)`` so the caller catches ``pynvml.NVMLError_GpuIsLost`` & co.
The surface keeps init, shutdown and the system queries and routes the rest to its function
groups (``api_devices``, ``api_mig``, ``api_events``). pynvml functions not modelled raise
``NVMLError_NotSupported`` (a real GPU may answer that too), so node inspectors degrade as
they would on a real machine.
"""

from __future__ import annotations

import ctypes
import inspect
import threading
from collections.abc import Callable
from typing import Any

import pynvml

from fake_nvml.api_devices import DeviceFunctions
from fake_nvml.api_events import EventFunctions
from fake_nvml.api_mig import MigFunctions
from fake_nvml.calls import Functions, Simulation, _err, marked, nvml_call
from fake_nvml.events import NOT_ATTRIBUTABLE
from fake_nvml.symbols import is_call_name

E = pynvml.NVMLError
GROUPS: tuple[type[Functions], ...] = (DeviceFunctions, MigFunctions, EventFunctions)


def _is_pynvml_function(name: str) -> bool:
    return name.startswith("nvml") and inspect.isfunction(getattr(pynvml, name, None))


def pynvml_exports() -> dict[str, Any]:
    """pynvml's constants, exception classes and structs: what a drop-in must carry as attributes."""
    out: dict[str, Any] = {}
    for name in dir(pynvml):
        if name.startswith("_") or _is_pynvml_function(name):
            continue
        value = getattr(pynvml, name)
        if isinstance(value, (int, str, float)) or (
            isinstance(value, type)
            and (
                issubclass(value, (pynvml.NVMLError, ctypes.Structure, ctypes.Union))
                or name.startswith(("NVML", "nvml", "c_nvml", "_nvml"))
            )
        ):
            out[name] = value
    return out


class NvmlSurface(Functions):
    """One process's view of a simulated node: pynvml's functions with an init refcount."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim, self)
        self._refcount = 0
        self._ref_lock = threading.Lock()
        self._cancelled: Callable[[], bool] | None = None  # set by the socket server: ends waits on close
        self._groups: dict[type[Functions], Functions] = {group: group(sim, self) for group in GROUPS}

    def __getattr__(self, name: str) -> Any:
        # A pynvml function (or C symbol, as the shim's stubs send) we do not model: answer as a
        # GPU without that feature would.
        if is_call_name(name):

            def not_supported(*_args: Any, **_kwargs: Any) -> Any:
                self._sim.faults.before(name, self._sim.clock)
                if not self._initialised():
                    raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
                raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)

            not_supported.__name__ = name
            return not_supported
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (nor does pynvml)")

    def _initialised(self) -> bool:
        with self._ref_lock:
            return self._refcount > 0

    # -- init ----------------------------------------------------------------------------
    @nvml_call(needs_init=False)
    def nvmlInit(self) -> None:
        self._init(0)

    @nvml_call(needs_init=False)
    def nvmlInitWithFlags(self, flags: int) -> None:
        self._init(flags)

    def _init(self, flags: int) -> None:
        code = self._sim.faults.init_failure
        if code is not None:
            raise _err(code)
        with self._ref_lock:
            self._refcount += 1

    @nvml_call(needs_init=False)
    def nvmlShutdown(self) -> None:
        with self._ref_lock:
            if self._refcount == 0:
                raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
            self._refcount -= 1

    @nvml_call(needs_init=False)
    def nvmlErrorString(self, result: int) -> str:
        return str(pynvml.NVMLError(result)) if result in E._errcode_to_string else "Unknown Error"

    # -- system ----------------------------------------------------------------------------
    @nvml_call()
    def nvmlSystemGetDriverVersion(self) -> str:
        return self._model.profile.driver_version

    @nvml_call()
    def nvmlSystemGetNVMLVersion(self) -> str:
        return self._model.profile.nvml_version

    @nvml_call()
    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self._model.profile.cuda_driver_version

    @nvml_call()
    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return self._model.profile.cuda_driver_version


class _Routed:
    """A pynvml function one of the groups defines, as an attribute of the surface's class."""

    __nvml_function__ = True

    def __init__(self, group: type[Functions], name: str) -> None:
        self.group = group
        self.name = name
        self.__doc__ = getattr(group, name).__doc__

    def __get__(self, surface: NvmlSurface | None, owner: type | None = None) -> Any:
        if surface is None:
            return getattr(self.group, self.name)
        return getattr(surface._groups[self.group], self.name)


for _group in GROUPS:
    for _function in marked(_group):
        setattr(NvmlSurface, _function, _Routed(_group, _function))


def surface_functions() -> list[str]:
    """Names of the pynvml functions the simulation models (the rest answer NotSupported)."""
    classes: tuple[type[Functions], ...] = (NvmlSurface, *GROUPS)
    return sorted({name for cls in classes for name in marked(cls)})


for _name, _value in pynvml_exports().items():
    if not hasattr(NvmlSurface, _name):
        setattr(NvmlSurface, _name, _value)

__all__ = ["NOT_ATTRIBUTABLE", "NvmlSurface", "Simulation", "pynvml_exports", "surface_functions"]
