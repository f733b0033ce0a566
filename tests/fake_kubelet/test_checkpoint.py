"""The checkpoint file: the kubelet's JSON layout, a checksum, and what a bad one costs."""

from __future__ import annotations

import base64
import json

import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Checkpoint, CheckpointError, Container, Pod, PodDeviceEntry
from fake_kubelet import checkpoint as ckpt
from tests.fake_kubelet.stub_plugin import device

GPU = "example.com/gpu"


def test_a_checkpoint_round_trips(sockdir):
    path = f"{sockdir}/kubelet_internal_checkpoint"
    response = pb.ContainerAllocateResponse(envs={"A": "1"}, cdi_devices=[pb.CDIDevice(name="v.com/c=d")])
    written = Checkpoint(
        [PodDeviceEntry("uid", "app", GPU, {0: ["a"], -1: ["b"]}, response)], {GPU: ["a", "b"]}
    )
    ckpt.write(path, written)
    read = ckpt.read(path)
    assert read.registered == {GPU: ["a", "b"]}
    (entry,) = read.entries
    assert (entry.pod_uid, entry.container, entry.resource, entry.device_ids) == (
        "uid",
        "app",
        GPU,
        {-1: ["b"], 0: ["a"]},
    )
    assert entry.response == response


def test_the_file_has_the_kubelets_json_layout(registered, kubelet):
    registered(devices=[device("a", numa=[1]), device("b")])
    kubelet.admit(Pod("p", [Container("app", {GPU: 2})]))
    with open(kubelet.checkpoint_path) as src:
        raw = json.load(src)
    assert set(raw) == {"Data", "Checksum"}
    assert raw["Data"]["RegisteredDevices"] == {GPU: ["a", "b"]}
    (entry,) = raw["Data"]["PodDeviceEntries"]
    assert entry["ContainerName"] == "app" and entry["ResourceName"] == GPU
    assert entry["DeviceIDs"] == {"-1": ["b"], "1": ["a"]}
    response = pb.ContainerAllocateResponse.FromString(base64.b64decode(entry["AllocResp"]))
    assert response.envs["STUB_VISIBLE_DEVICES"] == "a,b"
    assert raw["Checksum"] == ckpt.checksum(
        json.dumps(raw["Data"], sort_keys=True, separators=(",", ":")).encode()
    )


def test_a_checksum_mismatch_is_a_read_error(sockdir):
    path = f"{sockdir}/kubelet_internal_checkpoint"
    ckpt.write(path, Checkpoint([], {GPU: ["a"]}))
    with open(path) as src:
        raw = json.load(src)
    raw["Data"]["RegisteredDevices"][GPU].append("forged")
    with open(path, "w") as out:
        json.dump(raw, out)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        ckpt.read(path)


def test_the_kubelet_goes_on_without_allocations_after_a_corrupt_checkpoint(registered, kubelet):
    registered(devices=["a", "b"])
    kubelet.admit(Pod("p", [Container("app", {GPU: 2})]))
    kubelet.stop()
    with open(kubelet.checkpoint_path) as src:
        raw = json.load(src)
    raw["Checksum"] += 1
    with open(kubelet.checkpoint_path, "w") as out:
        json.dump(raw, out)
    kubelet.start()
    info = kubelet.log.events(kind="start")[-1].data["checkpoint"]
    assert "checksum mismatch" in info["error"]
    assert kubelet.allocations("p") == []
    assert kubelet.allocated_devices(GPU) == set()


def test_the_pre_1_20_flat_device_list_still_reads(sockdir):
    data = {
        "PodDeviceEntries": [
            {
                "PodUID": "u",
                "ContainerName": "c",
                "ResourceName": GPU,
                "DeviceIDs": ["a", "b"],
                "AllocResp": "",
            }
        ],
        "RegisteredDevices": {},
    }
    path = f"{sockdir}/kubelet_internal_checkpoint"
    with open(path, "w") as out:
        json.dump(
            {
                "Data": data,
                "Checksum": ckpt.checksum(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()),
            },
            out,
        )
    (entry,) = ckpt.read(path).entries
    assert entry.devices == ["a", "b"] and entry.device_ids == {-1: ["a", "b"]}


def test_unreadable_checkpoints_say_what_is_wrong(sockdir):
    path = f"{sockdir}/kubelet_internal_checkpoint"
    with open(path, "w") as out:
        out.write("{not json")
    with pytest.raises(CheckpointError, match="not JSON"):
        ckpt.read(path)
    with open(path, "w") as out:
        json.dump({"Data": {}}, out)
    with pytest.raises(CheckpointError, match="Data and Checksum"):
        ckpt.read(path)


def test_a_device_list_that_changes_nothing_in_the_checkpoint_does_not_rewrite_it(
    registered, kubelet, monkeypatch
):
    plugin = registered(devices=["a", "b"])
    writes: list[Checkpoint] = []
    real_write = ckpt.write
    monkeypatch.setattr(ckpt, "write", lambda path, data: (writes.append(data), real_write(path, data)))

    def relist(devices) -> None:
        since = kubelet.log.last_seq
        plugin.set_devices(devices)
        kubelet.wait_for_event("devices", since=since, timeout=5)

    relist(["a", "b"])  # the same list again
    relist([device("a"), device("b", numa=[1])])  # topology is not checkpointed
    assert writes == []
    relist([device("a"), device("b", health="Unhealthy")])
    assert [w.registered for w in writes] == [{GPU: ["a"]}]
    assert ckpt.read(kubelet.checkpoint_path).registered == {GPU: ["a"]}
    kubelet.admit(Pod("p", [Container("app", {GPU: 1})]))
    assert len(writes) == 2 and len(writes[-1].entries) == 1


def test_a_pre_1_20_checkpoint_is_recovered_and_pods_are_rejected_until_the_plugin_registers(
    sockdir, make_kubelet
):
    """device_manager_test.go: "should be able to recover V1 (aka pre-1.20) checkpoint data and
    reject pods before device re-registration"."""
    data = {
        "PodDeviceEntries": [
            {"PodUID": "u", "ContainerName": "c", "ResourceName": GPU, "DeviceIDs": ["a"], "AllocResp": ""}
        ],
        "RegisteredDevices": {GPU: ["a", "b"]},
    }
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    with open(f"{sockdir}/kubelet_internal_checkpoint", "w") as out:
        json.dump({"Data": data, "Checksum": ckpt.checksum(canonical)}, out)
    kubelet = make_kubelet()
    (start,) = kubelet.log.events(kind="start")
    assert start.data["checkpoint"]["error"] is None
    assert kubelet.allocated_devices(GPU) == {"a"}
    assert kubelet.on_node(GPU) and (kubelet.capacity(GPU), kubelet.allocatable(GPU)) == (0, 0)
    admission = kubelet.admit(Pod("new", [Container("app", {GPU: 1})]))
    assert (admission.reason, admission.message) == (
        "UnexpectedAdmissionError",
        f"Allocate failed due to no healthy devices present; cannot allocate unhealthy devices {GPU}, "
        "which is unexpected",
    )
