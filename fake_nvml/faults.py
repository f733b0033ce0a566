"""Call-level faults: errors for the next N calls of a function, added latency, init failures.

Checked at the top of every pynvml function of the simulated surface (in process and behind
the socket server alike), so a plugin sees them exactly where real NVML would fail. A fault on a
function also covers its versioned C symbols, because which one a call arrives as depends on the
client: pynvml's ``nvmlEventSetWait`` calls ``nvmlEventSetWait_v2`` in C, go-nvml picks the
newest symbol the library has, and pynvml's ``nvmlInit`` is ``nvmlInitWithFlags(0)``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import pynvml

from simkit import Clock, ObservationLog

INIT_FAILURES = {
    "library_not_found": pynvml.NVML_ERROR_LIBRARY_NOT_FOUND,
    "driver_not_loaded": pynvml.NVML_ERROR_DRIVER_NOT_LOADED,
}


def family(function: str) -> str:
    """The function a call name is a version of: ``nvmlDeviceGetCount_v2`` → ``nvmlDeviceGetCount``."""
    base = re.sub(r"_v\d+$", "", function)
    return "nvmlInit" if base == "nvmlInitWithFlags" else base


def error_code(error: int | str | type[BaseException]) -> int:
    """An NVML error code from a code, a name (``"GPU_IS_LOST"``) or an exception class."""
    if isinstance(error, type) and issubclass(error, pynvml.NVMLError):
        instance: Any = error.__new__(error)  # the generated subclasses know their code
        return int(instance.value)
    if isinstance(error, str):
        name = error.upper().removeprefix("NVML_ERROR_")
        code = getattr(pynvml, f"NVML_ERROR_{name}", None)
        if code is None:
            known = sorted(n.removeprefix("NVML_ERROR_") for n in dir(pynvml) if n.startswith("NVML_ERROR_"))
            raise ValueError(f"unknown NVML error {error!r}; known: {', '.join(known)}")
        return int(code)
    if isinstance(error, int) and error in pynvml.NVMLError._valClassMapping:
        return error
    raise ValueError(f"{error!r} is not an NVML error code (e.g. pynvml.NVML_ERROR_UNKNOWN or 'GPU_IS_LOST')")


@dataclass
class _Failure:
    code: int
    remaining: int | None  # None: until cleared


class Faults:
    """The current call faults of one node, shared by every view of it."""

    def __init__(self, log: ObservationLog | None = None) -> None:
        self._log = log  # each injected failure that fires is a "call_failed" node event
        self._lock = threading.Lock()
        self._failures: dict[str, _Failure] = {}
        self._latency: dict[str, float] = {}
        self.init_failure: int | None = None

    def fail(self, function: str, code: int, count: int | None) -> None:
        with self._lock:
            if count == 0:
                self._failures.pop(function, None)
            else:
                self._failures[function] = _Failure(code, count)

    def delay(self, function: str, seconds: float) -> None:
        with self._lock:
            if seconds <= 0:
                self._latency.pop(function, None)
            else:
                self._latency[function] = seconds

    def snapshot(self) -> dict[str, Any]:
        """What is injected now (``python -m fake_nvml ctl status`` prints it)."""
        with self._lock:
            failing = {fn: {"error": f.code, "remaining": f.remaining} for fn, f in self._failures.items()}
            return {"failing": failing, "latency": dict(self._latency), "init_failure": self.init_failure}

    def before(self, function: str, clock: Clock) -> None:
        """Apply latency (clock time, so ``advance`` cuts it short), then a pending failure."""
        base = family(function)
        with self._lock:
            latency = self._latency.get(function, self._latency.get(base, 0.0))
        if latency > 0:
            clock.sleep(latency)
        with self._lock:
            key = function if function in self._failures else base
            failure = self._failures.get(key)
            if failure is None:
                return
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[key]
            code = failure.code
            remaining = failure.remaining
        error = pynvml.NVMLError(code)
        if self._log is not None:
            self._log.append("node", "call_failed", function=function, error=str(error), remaining=remaining)
        raise error
