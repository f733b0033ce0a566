"""Allocate responses as plain data for the log and reports."""

from __future__ import annotations

import json

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import merge_run_options, response_to_dict


def test_a_response_becomes_a_json_dict_with_the_proto_field_names():
    response = pb.ContainerAllocateResponse(
        envs={"A": "1"},
        mounts=[pb.Mount(container_path="/c", host_path="/h", read_only=True)],
        devices=[pb.DeviceSpec(container_path="/dev/x", host_path="/dev/y", permissions="rw")],
        annotations={"k": "v"},
        cdi_devices=[pb.CDIDevice(name="nvidia.com/gpu=0")],
    )
    as_dict = response_to_dict(response)
    assert as_dict == {
        "envs": {"A": "1"},
        "mounts": [{"container_path": "/c", "host_path": "/h", "read_only": True}],
        "devices": [{"container_path": "/dev/x", "host_path": "/dev/y", "permissions": "rw"}],
        "annotations": {"k": "v"},
        "cdi_devices": ["nvidia.com/gpu=0"],
    }
    assert json.loads(json.dumps(as_dict)) == as_dict


def test_run_options_deduplicate_by_container_path_and_cdi_name():
    first = response_to_dict(
        pb.ContainerAllocateResponse(
            envs={"X": "first"},
            devices=[pb.DeviceSpec(container_path="/dev/a", host_path="/1", permissions="r")],
            cdi_devices=[pb.CDIDevice(name="v.com/c=1")],
        )
    )
    second = response_to_dict(
        pb.ContainerAllocateResponse(
            envs={"X": "second", "Y": "y"},
            devices=[pb.DeviceSpec(container_path="/dev/a", host_path="/2", permissions="r")],
            mounts=[pb.Mount(container_path="/m", host_path="/h")],
            cdi_devices=[pb.CDIDevice(name="v.com/c=1"), pb.CDIDevice(name="v.com/c=2")],
        )
    )
    merged = merge_run_options([first, second])
    assert merged["envs"] == {"X": "first", "Y": "y"}
    assert [d["host_path"] for d in merged["devices"]] == ["/1"]
    assert merged["cdi_devices"] == ["v.com/c=1", "v.com/c=2"]
    assert len(merged["mounts"]) == 1
