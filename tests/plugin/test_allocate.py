"""Allocate responses and errors are NVIDIA's, for every list and id strategy."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from plugin import load_config
from plugin.allocate import Extras, allocate, container_response, validate_request
from plugin.errors import AllocationError
from plugin.imex import Channel
from plugin.mig import resources_for_strategy
from plugin.resources import Resource
from plugin.sharing import apply_sharing, parse_sharing
from tests.plugin.builders import gpu


def gpus_resource(n: int = 4) -> Resource:
    return Resource(
        "nvidia.com/gpu",
        tuple(resources_for_strategy([gpu(i) for i in range(n)], "none", [])["nvidia.com/gpu"]),
    )


def shared_resource(fail_gt_one: bool) -> Resource:
    ts = parse_sharing(
        {
            "timeSlicing": {
                "failRequestsGreaterThanOne": fail_gt_one,
                "resources": [{"name": "gpu", "replicas": 4}],
            }
        },
        "f",
        [],
    )
    return apply_sharing(resources_for_strategy([gpu(0), gpu(1)], "none", []), ts, [])[0]


def respond(
    resource: Resource, ids: list[str], *argv: str, extras: Extras | None = None
) -> pb.ContainerAllocateResponse:
    config = load_config(list(argv), {})
    return container_response(
        resource, validate_request(resource, ids), config, extras or Extras(), new_id=lambda: "fixed"
    )


def test_envvar_lists_uuids_in_request_order() -> None:
    response = respond(gpus_resource(), ["GPU-2", "GPU-0"])
    assert dict(response.envs) == {"NVIDIA_VISIBLE_DEVICES": "GPU-2,GPU-0"}
    assert not response.mounts and not response.devices and not response.annotations


def test_index_strategy_gives_indexes_and_gpu_colon_mig_for_mig_devices() -> None:
    assert (
        respond(gpus_resource(), ["GPU-3", "GPU-1"], "--device-id-strategy=index").envs[
            "NVIDIA_VISIBLE_DEVICES"
        ]
        == "3,1"
    )
    migs = resources_for_strategy([gpu(0), gpu(1, mig=[("1g.10gb", 1, 0), ("1g.10gb", 2, 0)])], "mixed", [])
    resource = Resource("nvidia.com/mig-1g.10gb", tuple(migs["nvidia.com/mig-1g.10gb"]))
    response = respond(resource, ["MIG-1-1"], "--device-id-strategy=index")
    assert response.envs["NVIDIA_VISIBLE_DEVICES"] == "1:1"
    assert respond(resource, ["MIG-1-1"]).envs["NVIDIA_VISIBLE_DEVICES"] == "MIG-1-1"


def test_replicas_are_stripped_and_deduplicated() -> None:
    response = respond(shared_resource(False), ["GPU-1::3", "GPU-0::0", "GPU-1::0"])
    assert response.envs["NVIDIA_VISIBLE_DEVICES"] == "GPU-1,GPU-0"


def test_volume_mounts_mount_dev_null_per_device_and_override_the_env() -> None:
    response = respond(gpus_resource(), ["GPU-0", "GPU-1"], "--device-list-strategy=envvar,volume-mounts")
    assert response.envs["NVIDIA_VISIBLE_DEVICES"] == "/var/run/nvidia-container-devices"
    assert [(m.host_path, m.container_path) for m in response.mounts] == [
        ("/dev/null", "/var/run/nvidia-container-devices/GPU-0"),
        ("/dev/null", "/var/run/nvidia-container-devices/GPU-1"),
    ]


def test_cdi_annotations_use_the_prefix_and_set_no_env() -> None:
    response = respond(
        gpus_resource(),
        ["GPU-0", "GPU-1"],
        "--device-list-strategy=cdi-annotations",
        "--cdi-annotation-prefix=cdi.example/",
    )
    assert dict(response.annotations) == {
        "cdi.example/nvidia-device-plugin_fixed": (
            "k8s.device-plugin.nvidia.com/gpu=GPU-0,k8s.device-plugin.nvidia.com/gpu=GPU-1"
        )
    }
    assert not response.envs


def test_cdi_cri_names_gpus_then_channels_then_the_modes_whose_spec_was_written() -> None:
    channel = Channel(
        "0", "/dev/nvidia-caps-imex-channels/channel0", "/x/dev/nvidia-caps-imex-channels/channel0"
    )
    extras = Extras((channel,), ("k8s.device-plugin.nvidia.com/gds=all",))
    response = respond(
        gpus_resource(), ["GPU-1"], "--device-list-strategy=cdi-cri", "--gds-enabled", extras=extras
    )
    assert [d.name for d in response.cdi_devices] == [
        "k8s.device-plugin.nvidia.com/gpu=GPU-1",
        "k8s.device-plugin.nvidia.com/imex-channel=0",
        "k8s.device-plugin.nvidia.com/gds=all",
    ]
    assert dict(response.envs) == {"NVIDIA_GDS": "enabled"}  # v0.20 sets it even when every strategy is CDI


@pytest.mark.parametrize("strategy", ["envvar", "cdi-cri", "cdi-annotations", "envvar,cdi-cri"])
def test_gdrcopy_gds_and_mofed_envs_follow_their_flags_under_every_strategy(strategy: str) -> None:
    response = respond(
        gpus_resource(),
        ["GPU-1"],
        f"--device-list-strategy={strategy}",
        "--gdrcopy-enabled",
        "--mofed-enabled",
    )
    assert response.envs["NVIDIA_GDRCOPY"] == "enabled"
    assert response.envs["NVIDIA_MOFED"] == "enabled"
    assert "NVIDIA_GDS" not in response.envs


def test_imex_channels_found_reach_env_mounts_and_device_specs() -> None:
    channel = Channel(
        "0", "/dev/nvidia-caps-imex-channels/channel0", "/c/dev/nvidia-caps-imex-channels/channel0"
    )
    response = respond(
        gpus_resource(),
        ["GPU-1"],
        "--device-list-strategy=envvar,volume-mounts",
        "--pass-device-specs",
        "--dev-root=/host",
        extras=Extras((channel,)),
    )
    assert response.envs["NVIDIA_IMEX_CHANNELS"] == "0"
    assert ("/dev/null", "/var/run/nvidia-container-devices/imex/0") in [
        (m.host_path, m.container_path) for m in response.mounts
    ]
    assert [(d.container_path, d.host_path) for d in response.devices] == [
        ("/dev/nvidia-caps-imex-channels/channel0", "/host/dev/nvidia-caps-imex-channels/channel0")
    ]


def test_mps_adds_the_pipe_directory_and_the_pipe_and_shm_mounts() -> None:
    resource = dataclasses.replace(shared_resource(True), mps=True)
    response = respond(resource, ["GPU-0::1"], "--mps-root=/run/nvidia/mps")
    assert response.envs["CUDA_MPS_PIPE_DIRECTORY"] == "/mps/nvidia.com/gpu/pipe"
    assert [(m.container_path, m.host_path) for m in response.mounts] == [
        ("/mps/nvidia.com/gpu/pipe", "/run/nvidia/mps/nvidia.com/gpu/pipe"),
        ("/dev/shm", "/run/nvidia/mps/shm"),
    ]
    assert response.envs["NVIDIA_VISIBLE_DEVICES"] == "GPU-0"


def test_device_specs_cover_only_nodes_that_exist_under_the_dev_root() -> None:
    root = Path(tempfile.mkdtemp(prefix="gpdev", dir="/tmp"))
    for name in ("nvidiactl", "nvidia-uvm", "nvidia1"):
        (root / "dev").mkdir(exist_ok=True)
        (root / "dev" / name).touch()
    response = respond(gpus_resource(), ["GPU-1", "GPU-2"], "--pass-device-specs", f"--dev-root={root}")
    assert [(d.container_path, d.host_path, d.permissions) for d in response.devices] == [
        ("/dev/nvidiactl", f"{root}/dev/nvidiactl", "rw"),
        ("/dev/nvidia-uvm", f"{root}/dev/nvidia-uvm", "rw"),
        ("/dev/nvidia1", f"{root}/dev/nvidia1", "rw"),
    ]


def test_mig_device_specs_add_the_capability_nodes_the_driver_publishes() -> None:
    root = Path(tempfile.mkdtemp(prefix="gpdev", dir="/tmp"))
    (root / "dev" / "nvidia-caps").mkdir(parents=True)
    for node in ("nvidia1", "nvidia-caps/nvidia-cap21", "nvidia-caps/nvidia-cap22"):
        (root / "dev" / node).touch()
    caps = root / "proc/driver/nvidia/capabilities/gpu1/mig/gi2"
    (caps / "ci0").mkdir(parents=True)
    (caps / "access").write_text("DeviceFileMinor: 21\nDeviceFileMode: 292\n")
    (caps / "ci0" / "access").write_text("DeviceFileMinor: 22\nDeviceFileMode: 292\n")
    migs = resources_for_strategy([gpu(0), gpu(1, mig=[("1g.10gb", 2, 0)])], "mixed", [])
    resource = Resource("nvidia.com/mig-1g.10gb", tuple(migs["nvidia.com/mig-1g.10gb"]))
    response = respond(
        resource, ["MIG-1-0"], "--pass-device-specs", f"--dev-root={root}", f"--driver-root={root}"
    )
    assert [d.container_path for d in response.devices] == [
        "/dev/nvidia1",
        "/dev/nvidia-caps/nvidia-cap21",
        "/dev/nvidia-caps/nvidia-cap22",
    ]


def test_unknown_device_is_nvidias_error() -> None:
    with pytest.raises(AllocationError, match=r"^invalid request: unknown device: GPU-9$"):
        validate_request(gpus_resource(), ["GPU-0", "GPU-9"])


def test_shared_request_above_one_fails_only_with_fail_requests_greater_than_one() -> None:
    with pytest.raises(
        AllocationError, match=r"^invalid request: maximum request size for shared resources is 1; found 2$"
    ):
        validate_request(shared_resource(True), ["GPU-0::0", "GPU-1::0"])
    assert len(validate_request(shared_resource(False), ["GPU-0::0", "GPU-1::0"])) == 2


def test_allocate_answers_each_container_request() -> None:
    request = pb.AllocateRequest(
        container_requests=[
            pb.ContainerAllocateRequest(devices_ids=["GPU-0"]),
            pb.ContainerAllocateRequest(devices_ids=["GPU-1"]),
        ]
    )
    response = allocate(gpus_resource(), request, load_config([], {}))
    assert [r.envs["NVIDIA_VISIBLE_DEVICES"] for r in response.container_responses] == ["GPU-0", "GPU-1"]
