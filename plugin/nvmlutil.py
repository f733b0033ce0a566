"""Small helpers over an NVML object with pynvml's surface (the real module or a drop-in).

The exception classes are pynvml's own (the drop-ins raise them too), so errors are recognised
by their NVML return code, never by the object that raised them.
"""

from __future__ import annotations

from typing import Any

import pynvml

NVMLError = pynvml.NVMLError
NOT_SUPPORTED = pynvml.NVML_ERROR_NOT_SUPPORTED
NOT_FOUND = pynvml.NVML_ERROR_NOT_FOUND
TIMEOUT = pynvml.NVML_ERROR_TIMEOUT
GPU_IS_LOST = pynvml.NVML_ERROR_GPU_IS_LOST
INVALID_ARGUMENT = pynvml.NVML_ERROR_INVALID_ARGUMENT
FUNCTION_NOT_FOUND = pynvml.NVML_ERROR_FUNCTION_NOT_FOUND
LIBRARY_NOT_FOUND = pynvml.NVML_ERROR_LIBRARY_NOT_FOUND
# "Not attributable to one GPU/compute instance" in event records.
INSTANCE_ANY = 0xFFFFFFFF


def code(exc: BaseException) -> int | None:
    return getattr(exc, "value", None) if isinstance(exc, NVMLError) else None


def is_code(exc: BaseException, *codes: int) -> bool:
    return code(exc) in codes


def text(value: Any) -> str:
    """NVML strings arrive as ``str`` (convertStrBytes) or ``bytes`` (struct char arrays)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").rstrip("\x00")
    return str(value)


def describe(exc: BaseException) -> str:
    """A one-line description of an NVML (or other) error."""
    if isinstance(exc, NVMLError):
        try:
            return f"{exc} (NVML error {exc.value})"
        except Exception:  # pynvml's __str__ calls into the library
            return f"NVML error {getattr(exc, 'value', '?')}"
    return f"{type(exc).__name__}: {exc}"


def const(nvml: Any, name: str) -> Any:
    """A constant from the NVML object, falling back to pynvml's value."""
    return getattr(nvml, name, getattr(pynvml, name))
