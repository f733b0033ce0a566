"""The NVML C symbols the installed nvidia-ml-py binds, read from its own source.

pynvml resolves every C function by name (``_nvmlGetFunctionPointer("nvmlDeviceGetName")``), so its
source is the list of what an NVML consumer may look up. The shim exports all of them (most as
generated ``NOT_SUPPORTED`` stubs) and the node server accepts them as call names.
"""

from __future__ import annotations

import functools
import inspect
import re

import pynvml

_LOOKUP = re.compile(r'_nvmlGetFunctionPointer\(\s*"(nvml\w+)"\s*\)')
_DEF = re.compile(r"^def (nvml\w+)\(", re.MULTILINE)


@functools.cache
def _source() -> str:
    return inspect.getsource(pynvml)


@functools.cache
def c_symbols() -> tuple[str, ...]:
    """Every NVML C function name the installed pynvml can call, sorted."""
    return tuple(sorted(set(_LOOKUP.findall(_source()))))


@functools.cache
def symbols_by_function() -> dict[str, tuple[str, ...]]:
    """pynvml function name → the C symbols its body looks up (directly, or through the pynvml
    functions it calls, as ``nvmlEventSetWait`` calls ``nvmlEventSetWait_v2``)."""
    source = _source()
    starts = [(m.start(), m.group(1)) for m in _DEF.finditer(source)]
    bodies: dict[str, str] = {}
    for (start, name), (end, _) in zip(starts, [*starts[1:], (len(source), "")], strict=True):
        bodies[name] = source[start:end]
    direct = {name: set(_LOOKUP.findall(body)) for name, body in bodies.items()}
    calls = {
        name: {other for other in re.findall(r"\b(nvml\w+)\(", body[4:]) if other in bodies and other != name}
        for name, body in bodies.items()
    }
    out: dict[str, tuple[str, ...]] = {}
    for name in bodies:
        seen, todo, found = {name}, [name], set()
        while todo:
            fn = todo.pop()
            found |= direct[fn]
            for callee in calls[fn] - seen:
                seen.add(callee)
                todo.append(callee)
        out[name] = tuple(sorted(found))
    return out


def is_call_name(name: str) -> bool:
    """A name the node protocol's ``call`` accepts: a pynvml function or an NVML C symbol."""
    if name in c_symbols():
        return True
    return name.startswith("nvml") and inspect.isfunction(getattr(pynvml, name, None))
