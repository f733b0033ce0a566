"""What each message of the node protocol does (docs/nvml-protocol.md): hello, call, inject, status.

The socket server owns connections and threads; this module owns meaning. ``call`` runs a
pynvml function on the connection's session (its own init refcount, as a process has);
``inject`` makes a fault from the catalogue (fake_nvml/injections.py), which is how
``python -m fake_nvml ctl`` changes a served node; ``status`` reports the GPUs and active faults.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pynvml

from fake_nvml.api import NvmlSurface, surface_functions
from fake_nvml.codec import PROTOCOL, decode, encode
from fake_nvml.events import EventSet
from fake_nvml.injections import fault
from fake_nvml.node import DeviceHandle
from fake_nvml.symbols import is_call_name

if TYPE_CHECKING:
    from fake_nvml.fake import FakeNVML

Reply = dict[str, Any]


def error_name(code: int) -> str:
    for name in dir(pynvml):
        if name.startswith("NVML_ERROR_") and getattr(pynvml, name) == code:
            return name.removeprefix("NVML_ERROR_")
    return "UNKNOWN"


def error_reply(request_id: Any, code: int, message: str) -> Reply:
    return {"id": request_id, "error": {"code": code, "name": error_name(code), "message": message}}


class _Refused(Exception):
    """A request the node cannot carry out: the NVML code and a message for the client."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclasses.dataclass
class Connection:
    """One client connection's state: its session, once it said hello."""

    surface: NvmlSurface | None = None
    closing: bool = False


class NodeOps:
    """Answers the protocol's messages for one served node."""

    def __init__(self, node: FakeNVML, cancelled: Callable[[], bool]) -> None:
        self._node = node
        self._sim = node._sim
        self._cancelled = cancelled
        self._lock = threading.Lock()
        self._sessions: dict[str, NvmlSurface] = {}
        self._spent_us: dict[int, int] = {}  # per session: the client's time in round trips (the shim's)
        self._ops: dict[str, Callable[[Connection, dict[str, Any]], Any]] = {
            "call": self._call,
            "inject": self._inject,
            "status": self._status,
        }

    def answer(self, conn: Connection, message: dict[str, Any]) -> Reply:
        request_id, op = message.get("id"), message.get("op")
        if op == "hello":
            return self._hello(conn, message)
        handler = self._ops.get(str(op))
        if handler is None:
            known = ", ".join(["hello", *self._ops])
            return error_reply(request_id, pynvml.NVML_ERROR_INVALID_ARGUMENT, f"unknown op {op!r} ({known})")
        if conn.surface is None:
            return error_reply(request_id, pynvml.NVML_ERROR_INVALID_ARGUMENT, "send hello first")
        try:
            return {"id": request_id, "ok": handler(conn, message)}
        except pynvml.NVMLError as exc:
            return error_reply(request_id, int(exc.value), str(exc))
        except _Refused as exc:
            return error_reply(request_id, exc.code, str(exc))

    def _hello(self, conn: Connection, message: dict[str, Any]) -> Reply:
        if message.get("protocol") != PROTOCOL:
            conn.closing = True
            return error_reply(
                message.get("id"),
                pynvml.NVML_ERROR_INVALID_ARGUMENT,
                f"this node speaks protocol {PROTOCOL}, the client {message.get('protocol')!r}",
            )
        session = str(message.get("session", ""))
        with self._lock:
            surface = self._sessions.get(session)
            if surface is None:
                surface = NvmlSurface(self._sim)
                surface._cancelled = self._cancelled
                self._sessions[session] = surface
        conn.surface = surface
        ok = {"protocol": PROTOCOL, "functions": surface_functions(), "gpus": len(self._sim.model.gpus)}
        return {"id": message.get("id"), "ok": ok}

    def client_seconds(self) -> float:
        """Seconds the clients reported spending in round trips to this node, event waits left out
        (the shim's ``spent_us``; a total lags one call behind, as each request carries it)."""
        with self._lock:
            return sum(self._spent_us.values()) / 1e6

    def _call(self, conn: Connection, message: dict[str, Any]) -> Any:
        spent = message.get("spent_us")
        if isinstance(spent, int) and not isinstance(spent, bool):
            with self._lock:
                key = id(conn.surface)
                self._spent_us[key] = max(spent, self._spent_us.get(key, 0))
        fn = str(message.get("fn", ""))
        if not is_call_name(fn):
            raise _Refused(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND, f"no NVML function {fn!r}")
        try:
            args = decode(message.get("args", []), self._handle, self._event_set)
            kwargs = decode(message.get("kwargs", {}), self._handle, self._event_set)
            return encode(getattr(conn.surface, fn)(*args, **kwargs))
        except (TypeError, ValueError) as exc:
            raise _Refused(pynvml.NVML_ERROR_INVALID_ARGUMENT, f"{fn}: {exc}") from None

    def _inject(self, conn: Connection, message: dict[str, Any]) -> Any:
        args = message.get("args", {})
        try:
            chosen = fault(str(message.get("fault", "")))
            if not isinstance(args, dict):
                raise ValueError("'args' is an object of the fault's arguments")
            return encode(chosen.apply(self._node, args))
        except (ValueError, LookupError, TypeError) as exc:
            raise _Refused(pynvml.NVML_ERROR_INVALID_ARGUMENT, str(exc)) from None

    def _status(self, conn: Connection, message: dict[str, Any]) -> Any:
        return {
            "gpus": [dataclasses.asdict(g) for g in self._node.gpus],
            "faults": self._sim.faults.snapshot(),
        }

    def _handle(self, uuid: str) -> DeviceHandle:
        return self._sim.model.handle_for(uuid) or DeviceHandle(uuid)

    def _event_set(self, set_id: int) -> EventSet:
        return self._sim.events.get(set_id) or EventSet(-set_id)
