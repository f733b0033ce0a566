"""How a pynvml function of the simulated node is made: faults first, then the init check.

The surface (``api.py``) is composed of function groups, one module per area (devices, MIG,
events); each group is a ``Functions`` that receives the simulation's shared state and its
surface (for the init refcount) explicitly. ``@nvml_call`` marks a method as a pynvml function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, TypeVar

import pynvml

from fake_nvml.events import EventHub
from fake_nvml.faults import Faults
from fake_nvml.identities import legacy_bus_id, parse_bus_id
from fake_nvml.node import Gpu, MigDevice, NodeModel
from simkit import Clock, ObservationLog

F = TypeVar("F", bound=Callable[..., Any])


def _err(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)


@dataclass
class Simulation:
    """One simulated node's shared state: every view (in process, per socket session) uses it."""

    model: NodeModel
    events: EventHub
    faults: Faults
    clock: Clock
    log: ObservationLog | None = None


class Session(Protocol):
    """What a function group needs of its surface: one process's init state, and its cancel flag."""

    _cancelled: Callable[[], bool] | None

    def _initialised(self) -> bool: ...


def nvml_call(needs_init: bool = True) -> Callable[[F], F]:
    """Mark a method as a pynvml function: faults first, then the init check."""

    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(self: Functions, *args: Any, **kwargs: Any) -> Any:
            self._sim.faults.before(fn.__name__, self._sim.clock)
            if needs_init and not self._session._initialised():
                raise _err(pynvml.NVML_ERROR_UNINITIALIZED)
            return fn(self, *args, **kwargs)

        wrapper.__nvml_function__ = True  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def marked(cls: type) -> list[str]:
    """The pynvml functions a class defines (``@nvml_call`` methods and their aliases)."""
    return sorted(n for n, v in vars(cls).items() if getattr(v, "__nvml_function__", False))


class Functions:
    """A group of pynvml functions over one simulation, with the device lookups they share."""

    def __init__(self, sim: Simulation, session: Session) -> None:
        self._sim = sim
        self._session = session

    @property
    def _model(self) -> NodeModel:
        return self._sim.model

    def _device(self, handle: object, *, mig_ok: bool = True) -> tuple[Gpu, MigDevice | None]:
        try:
            gpu, mig = self._model.resolve(handle)
        except KeyError:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT) from None
        if gpu.lost:
            raise _err(pynvml.NVML_ERROR_GPU_IS_LOST)
        if gpu.hidden:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if mig is not None and not mig_ok:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu, mig

    def _gpu(self, handle: object) -> Gpu:
        return self._device(handle, mig_ok=False)[0]

    @staticmethod
    def _pci(gpu: Gpu) -> pynvml.nvmlPciInfo_t:
        domain, bus, device = parse_bus_id(gpu.spec.pci_bus_id)
        info = pynvml.nvmlPciInfo_t()
        info.busId = gpu.spec.pci_bus_id.encode()
        info.busIdLegacy = legacy_bus_id(gpu.spec.pci_bus_id).encode()
        info.domain, info.bus, info.device = domain, bus, device
        info.pciDeviceId = gpu.product.pci_device_id
        info.pciSubSystemId = gpu.product.pci_subsystem_id
        return info

    def _mig_capable(self, handle: object) -> Gpu:
        gpu, mig = self._device(handle)
        if mig is not None:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if not gpu.product.mig_capable:
            raise _err(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    def _mig_of(self, handle: object) -> tuple[Gpu, MigDevice]:
        gpu, mig = self._device(handle)
        if mig is None:
            raise _err(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return gpu, mig
