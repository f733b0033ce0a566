from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import pynvml
import pytest

from fake_nvml import FakeNVML, shim
from simkit import Clock, ObservationLog

# The pynvml surface under test: the node itself, the socket client, or the real pynvml module
# on the native shim (through ctypes and the C library, as any process sees it).
BACKENDS = ("in-process", "connect", "shim")


@pytest.fixture
def node(clock: Clock, log: ObservationLog) -> Iterator[FakeNVML]:
    n = FakeNVML.from_spec("4xH100", clock=clock, log=log)
    n.nvmlInit()
    yield n
    n.close()


@contextlib.contextmanager
def pynvml_on_shim(socket: str) -> Iterator[Any]:
    """The real pynvml module, bound to the shim for the node at ``socket`` (restored afterwards)."""
    library = ctypes.CDLL(shim.library_path())
    saved = pynvml.nvmlLib, dict(pynvml._nvmlGetFunctionPointer_cache), os.environ.get(shim.SOCKET_ENV)
    with pynvml.libLoadLock:
        pynvml.nvmlLib = library
        pynvml._nvmlGetFunctionPointer_cache.clear()
    os.environ[shim.SOCKET_ENV] = socket
    try:
        yield pynvml
    finally:
        with pynvml.libLoadLock:
            pynvml.nvmlLib = saved[0]
            pynvml._nvmlGetFunctionPointer_cache.clear()
            pynvml._nvmlGetFunctionPointer_cache.update(saved[1])
        if saved[2] is None:
            os.environ.pop(shim.SOCKET_ENV, None)
        else:
            os.environ[shim.SOCKET_ENV] = saved[2]


def _quietly(fn: Callable[[], object]) -> None:
    with contextlib.suppress(pynvml.NVMLError):
        fn()


@pytest.fixture(params=BACKENDS)
def through(request: pytest.FixtureRequest, sockdir: str) -> Iterator[Callable[[FakeNVML], Any]]:
    """``through(node)``: the node's pynvml surface in the parametrised backend, initialised."""
    served = itertools.count()
    with contextlib.ExitStack() as stack:

        def make(node: FakeNVML) -> Any:
            if request.param == "in-process":
                node.nvmlInit()
                return node
            path = os.path.join(sockdir, f"n{next(served)}.sock")
            stack.callback(node.serve(path).close)
            if request.param == "connect":
                nvml: Any = FakeNVML.connect(path)
                stack.callback(nvml.close)
            else:
                nvml = stack.enter_context(pynvml_on_shim(path))
            nvml.nvmlInit()
            stack.callback(_quietly, nvml.nvmlShutdown)
            return nvml

        yield make


@pytest.fixture
def nvml(node: FakeNVML, through: Callable[[FakeNVML], Any]) -> Any:
    """The 4xH100 ``node``'s pynvml surface in each backend."""
    return through(node)


def same(a: Any, b: Any) -> bool:
    """Two handles name the same device (real pynvml's handles are ctypes pointers: compare addresses)."""
    if isinstance(a, ctypes._Pointer) and isinstance(b, ctypes._Pointer):
        return ctypes.cast(a, ctypes.c_void_p).value == ctypes.cast(b, ctypes.c_void_p).value
    return bool(a == b)
