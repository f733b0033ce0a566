"""The device manager's checkpoint file, ``kubelet_internal_checkpoint``.

Layout as the kubelet writes it (Go's encoding/json of its checkpoint struct)::

    {"Data": {"PodDeviceEntries": [{"PodUID": ..., "ContainerName": ..., "ResourceName": ...,
                                    "DeviceIDs": {"<numa node>": [ids...]},
                                    "AllocResp": "<base64 protobuf ContainerAllocateResponse>"}],
              "RegisteredDevices": {"<resource>": [healthy ids...]}},
     "Checksum": <uint32>}

The kubelet checksums the Go object with FNV-1a over a debug printout of it, which
cannot be reproduced outside Go. We use CRC-32 (``zlib.crc32``) over the canonical JSON
of ``Data`` (sorted keys, no spaces) instead: a real kubelet's checkpoint therefore reads
as a checksum mismatch here, and ours as one there. What matters for plugins is kept: a
corrupt file is a read error and the kubelet goes on without allocations. (Until issue 20
this was FNV-1a in pure Python: 15 ms per write at 2,688 devices; CRC-32 is in C, and
detects every burst error up to 32 bits.)
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from deviceplugin.v1beta1 import api_pb2 as pb

NO_NUMA = -1  # the kubelet's key for devices without topology


class CheckpointError(Exception):
    """The checkpoint could not be read (missing fields, bad JSON, checksum mismatch)."""


@dataclass
class PodDeviceEntry:
    pod_uid: str
    container: str
    resource: str
    device_ids: dict[int, list[str]]  # NUMA node -> device IDs
    response: pb.ContainerAllocateResponse

    @property
    def devices(self) -> list[str]:
        """Each device once, in first-seen order (a device on two NUMA nodes is listed under both)."""
        seen: dict[str, None] = {}
        for ids in self.device_ids.values():
            for device in ids:
                seen.setdefault(device, None)
        return list(seen)


@dataclass
class Checkpoint:
    entries: list[PodDeviceEntry] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


def checksum(data: bytes) -> int:
    """The checkpoint's checksum of the canonical JSON of ``Data`` (an unsigned 32-bit int)."""
    return zlib.crc32(data)


def _canonical(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def to_json_data(checkpoint: Checkpoint) -> dict[str, Any]:
    entries = [
        {
            "PodUID": e.pod_uid,
            "ContainerName": e.container,
            "ResourceName": e.resource,
            "DeviceIDs": {str(numa): list(ids) for numa, ids in sorted(e.device_ids.items())},
            "AllocResp": base64.b64encode(e.response.SerializeToString()).decode(),
        }
        for e in checkpoint.entries
    ]
    data = {
        "PodDeviceEntries": entries,
        "RegisteredDevices": {k: list(v) for k, v in checkpoint.registered.items()},
    }
    return {"Data": data, "Checksum": checksum(_canonical(data))}


def write(path: str, checkpoint: Checkpoint) -> None:
    """Write atomically (a temp file in the same dir, then rename), as the kubelet's file store does.

    The temp name is fixed (``<path>.tmp``): one writer holds the manager's lock, and a
    leftover from a crash mid-write is overwritten by the next write.
    """
    body = json.dumps(to_json_data(checkpoint)).encode()
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read(path: str) -> Checkpoint:
    """Read and verify a checkpoint; raise :class:`CheckpointError` saying what is wrong."""
    try:
        with open(path) as src:
            raw = json.load(src)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: not JSON ({error})") from None
    try:
        data = raw["Data"]
        recorded = raw["Checksum"]
    except (KeyError, TypeError):
        raise CheckpointError(f"{path}: expected an object with keys Data and Checksum") from None
    if checksum(_canonical(data)) != recorded:
        raise CheckpointError(f"{path}: checkpoint is corrupted (checksum mismatch)")
    try:
        entries = [_entry(e) for e in data.get("PodDeviceEntries") or []]
        registered = {
            str(k): [str(d) for d in v or []] for k, v in (data.get("RegisteredDevices") or {}).items()
        }
    except (KeyError, TypeError, ValueError, binascii.Error, DecodeError) as error:
        raise CheckpointError(f"{path}: malformed entry ({error!r})") from None
    return Checkpoint(entries, registered)


def _entry(raw: dict[str, Any]) -> PodDeviceEntry:
    ids = raw["DeviceIDs"]
    # Before kubelet 1.20 DeviceIDs was a flat list; read it as "no NUMA node".
    device_ids = (
        {NO_NUMA: [str(d) for d in ids]}
        if isinstance(ids, list)
        else {int(k): [str(d) for d in v] for k, v in ids.items()}
    )
    response = pb.ContainerAllocateResponse()
    response.ParseFromString(base64.b64decode(raw.get("AllocResp") or ""))
    return PodDeviceEntry(
        str(raw["PodUID"]), str(raw["ContainerName"]), str(raw["ResourceName"]), device_ids, response
    )
