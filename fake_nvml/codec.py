"""Wire values of the node protocol: JSON with a few tagged objects (docs/nvml-protocol.md).

Framing is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. pynvml's
Python types that JSON lacks (handles, event sets, bytes, tuples, ctypes structs, the
``c_uint`` that ``nvmlDeviceIsMigDeviceHandle`` returns) travel as ``{"$tag": ...}`` objects.
"""

from __future__ import annotations

import ctypes
import json
import socket
import struct
from collections.abc import Callable
from typing import Any

import pynvml

from fake_nvml.events import EventData
from fake_nvml.instances import RECORDS, ComputeInstanceHandle, GpuInstanceHandle, Record

PROTOCOL = 2
MAX_FRAME = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ConnectionClosed(Exception):
    """The peer closed the connection (or it broke) while a frame was expected."""


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    payload = json.dumps(message, separators=(",", ":")).encode()
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = sock.recv(size - len(chunks))
        except OSError as exc:
            raise ConnectionClosed(str(exc)) from None
        if not chunk:
            raise ConnectionClosed("peer closed the connection")
        chunks += chunk
    return bytes(chunks)


def recv_frame(sock: socket.socket) -> dict[str, Any]:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise ConnectionClosed(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    message = json.loads(_recv_exact(sock, size))
    if not isinstance(message, dict):
        raise ConnectionClosed("a frame must hold a JSON object")
    return message


def encode(value: Any) -> Any:
    """A Python value returned by the pynvml surface → its JSON form."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return {"$bytes": value.decode("latin-1")}
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, EventData):
        return {
            "$event": {
                name: encode(getattr(value, name))
                for name in ("device", "eventType", "eventData", "gpuInstanceId", "computeInstanceId")
            }
        }
    if isinstance(value, GpuInstanceHandle):
        return {"$gpu_instance": {"device": value.device, "id": value.id}}
    if isinstance(value, ComputeInstanceHandle):
        return {
            "$compute_instance": {"device": value.device, "gpuInstance": value.gpuInstance, "id": value.id}
        }
    if isinstance(value, Record):
        return {
            "$struct": value.struct,
            "fields": {name: encode(getattr(value, name)) for name in value.fields},
        }
    if isinstance(value, ctypes.Structure):
        return {
            "$struct": type(value).__name__,
            "fields": {name: encode(getattr(value, name)) for name, *_ in value._fields_},
        }
    if isinstance(value, ctypes.c_uint):
        return {"$c_uint": value.value}
    uuid = getattr(value, "uuid", None)
    if isinstance(uuid, str):
        return {"$handle": uuid}
    set_id = getattr(value, "id", None)
    if isinstance(set_id, int) and type(value).__name__.endswith("EventSet"):
        return {"$event_set": set_id}
    raise TypeError(f"cannot encode {type(value).__name__} for the node protocol")


def decode(value: Any, handle: Callable[[str], Any], event_set: Callable[[int], Any]) -> Any:
    """JSON form → Python value; ``handle``/``event_set`` make the local objects for ids."""
    if isinstance(value, list):
        return [decode(v, handle, event_set) for v in value]
    if not isinstance(value, dict):
        return value
    if "$handle" in value:
        return handle(str(value["$handle"]))
    if "$event_set" in value:
        return event_set(int(value["$event_set"]))
    if "$bytes" in value:
        return str(value["$bytes"]).encode("latin-1")
    if "$tuple" in value:
        return tuple(decode(v, handle, event_set) for v in value["$tuple"])
    if "$c_uint" in value:
        return ctypes.c_uint(int(value["$c_uint"]))
    if "$event" in value:
        fields = {k: decode(v, handle, event_set) for k, v in value["$event"].items()}
        return EventData(**fields)
    if "$gpu_instance" in value:
        gi = value["$gpu_instance"]
        return GpuInstanceHandle(str(gi["device"]), int(gi["id"]))
    if "$compute_instance" in value:
        ci = value["$compute_instance"]
        return ComputeInstanceHandle(str(ci["device"]), int(ci["gpuInstance"]), int(ci["id"]))
    if "$struct" in value and str(value["$struct"]) in RECORDS:
        fields = {k: decode(v, handle, event_set) for k, v in value["fields"].items()}
        return RECORDS[str(value["$struct"])](**fields)
    if "$struct" in value:
        cls = getattr(pynvml, str(value["$struct"]), None)
        if not (isinstance(cls, type) and issubclass(cls, ctypes.Structure)):
            raise ValueError(f"unknown struct {value['$struct']!r}")
        obj = cls()
        for name, field_value in value["fields"].items():
            setattr(obj, name, decode(field_value, handle, event_set))
        return obj
    return {k: decode(v, handle, event_set) for k, v in value.items()}
