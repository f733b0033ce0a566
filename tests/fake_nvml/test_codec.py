from __future__ import annotations

import ctypes
import socket

import pynvml

from fake_nvml.codec import decode, encode, recv_frame, send_frame
from fake_nvml.events import EventData
from fake_nvml.node import DeviceHandle


def _roundtrip(value):
    return decode(encode(value), DeviceHandle, lambda i: ("set", i))


def test_pynvml_values_survive_the_wire() -> None:
    pci = pynvml.nvmlPciInfo_t()
    pci.busId, pci.bus, pci.pciDeviceId = b"00000000:3B:00.0", 0x3B, 0x233010DE
    back = _roundtrip(pci)
    assert isinstance(back, pynvml.nvmlPciInfo_t) and (back.busId, back.bus, back.pciDeviceId) == (
        pci.busId,
        0x3B,
        0x233010DE,
    )
    assert _roundtrip((9, 0)) == (9, 0) and _roundtrip([1, 1]) == [1, 1]
    assert _roundtrip(ctypes.c_uint(1)).value == 1 and _roundtrip(b"\xffab") == b"\xffab"
    event = _roundtrip(EventData(DeviceHandle("GPU-1"), 8, 79, 1, 0))
    assert (event.device, event.eventType, event.eventData, event.gpuInstanceId) == (
        DeviceHandle("GPU-1"),
        8,
        79,
        1,
    )


def test_frames_are_length_prefixed_json() -> None:
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, {"op": "hello", "id": 0})
        raw_len = int.from_bytes(b.recv(4, socket.MSG_PEEK), "big")
        assert raw_len == len(b'{"op":"hello","id":0}')
        assert recv_frame(b) == {"op": "hello", "id": 0}
