"""The wire format matches the kubelet's api.proto, checked against bytes written down by hand.

Each expected byte string below was derived from the field numbers and types in the kubelet's
api.proto (tag byte = field_number << 3 | wire_type; 0 = varint, 2 = length-delimited), not
from our own encoder. If someone renumbers a field or changes a type in api.proto, these fail.
"""

from __future__ import annotations

import pytest

from deviceplugin import v1beta1
from deviceplugin.v1beta1 import api_pb2 as pb


def hexbytes(text: str) -> bytes:
    """Bytes from hex pairs; '#' starts a comment, so each field can be annotated."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return bytes.fromhex("".join(lines))


REGISTER_REQUEST = hexbytes(
    """
    0a 07 76 31 62 65 74 61 31                # field 1 version, len 7, "v1beta1"
    12 0f 6e 76 69 64 69 61 2d 67 70 75 2e 73 6f 63 6b   # field 2 endpoint, len 15, "nvidia-gpu.sock"
    1a 0e 6e 76 69 64 69 61 2e 63 6f 6d 2f 67 70 75      # field 3 resource_name, len 14, "nvidia.com/gpu"
    22 04                                     # field 4 options, len 4
       08 01                                  #   field 1 pre_start_required: true
       10 01                                  #   field 2 get_preferred_allocation_available: true
    """
)


def test_register_request_encodes_every_field_with_the_kubelets_numbers() -> None:
    message = pb.RegisterRequest(
        version="v1beta1",
        endpoint="nvidia-gpu.sock",
        resource_name="nvidia.com/gpu",
        options=pb.DevicePluginOptions(pre_start_required=True, get_preferred_allocation_available=True),
    )
    assert message.SerializeToString(deterministic=True) == REGISTER_REQUEST
    assert pb.RegisterRequest.FromString(REGISTER_REQUEST) == message


LIST_AND_WATCH_RESPONSE = hexbytes(
    """
    0a 16                                     # field 1 devices[0], len 22
       0a 05 47 50 55 2d 61                   #   field 1 ID, "GPU-a"
       12 07 48 65 61 6c 74 68 79             #   field 2 health, "Healthy"
       1a 04                                  #   field 3 topology, len 4
          0a 02                               #     field 1 nodes[0], len 2
             08 01                            #       field 1 ID (int64 varint): 1
    0a 21                                     # field 1 devices[1], len 33
       0a 05 47 50 55 2d 62                   #   field 1 ID, "GPU-b"
       12 09 55 6e 68 65 61 6c 74 68 79       #   field 2 health, "Unhealthy"
       1a 0d                                  #   field 3 topology, len 13
          0a 0b                               #     field 1 nodes[0], len 11
             08 ff ff ff ff ff ff ff ff ff 01 #       field 1 ID: -1 (int64, ten-byte two's complement varint)
    """
)


def test_list_and_watch_response_encodes_devices_health_and_numa_topology() -> None:
    def numa(node: int) -> pb.TopologyInfo:
        return pb.TopologyInfo(nodes=[pb.NUMANode(ID=node)])

    message = pb.ListAndWatchResponse(
        devices=[
            pb.Device(ID="GPU-a", health=v1beta1.HEALTHY, topology=numa(1)),
            pb.Device(ID="GPU-b", health=v1beta1.UNHEALTHY, topology=numa(-1)),
        ]
    )
    assert message.SerializeToString(deterministic=True) == LIST_AND_WATCH_RESPONSE
    assert pb.ListAndWatchResponse.FromString(LIST_AND_WATCH_RESPONSE) == message


CONTAINER_ALLOCATE_RESPONSE = hexbytes(
    """
    0a 06 0a 01 41 12 01 31                   # field 1 envs entry: key(1) "A", value(2) "1"
    0a 06 0a 01 42 12 01 32                   # field 1 envs entry: key "B", value "2"
    12 0a                                     # field 2 mounts[0], len 10
       0a 02 2f 63                            #   field 1 container_path "/c"
       12 02 2f 68                            #   field 2 host_path "/h"
       18 01                                  #   field 3 read_only true
    1a 14                                     # field 3 devices[0], len 20
       0a 06 2f 64 65 76 2f 78                #   field 1 container_path "/dev/x"
       12 06 2f 64 65 76 2f 79                #   field 2 host_path "/dev/y"
       1a 02 72 77                            #   field 3 permissions "rw"
    22 06 0a 01 6b 12 01 76                   # field 4 annotations entry: key "k", value "v"
    2a 12                                     # field 5 cdi_devices[0], len 18
       0a 10 6e 76 69 64 69 61 2e 63 6f 6d 2f 67 70 75 3d 30   # field 1 name "nvidia.com/gpu=0"
    """
)


def test_container_allocate_response_encodes_envs_mounts_devices_annotations_and_cdi() -> None:
    message = pb.ContainerAllocateResponse(
        envs={"A": "1", "B": "2"},
        mounts=[pb.Mount(container_path="/c", host_path="/h", read_only=True)],
        devices=[pb.DeviceSpec(container_path="/dev/x", host_path="/dev/y", permissions="rw")],
        annotations={"k": "v"},
        cdi_devices=[pb.CDIDevice(name="nvidia.com/gpu=0")],
    )
    assert message.SerializeToString(deterministic=True) == CONTAINER_ALLOCATE_RESPONSE
    assert pb.ContainerAllocateResponse.FromString(CONTAINER_ALLOCATE_RESPONSE) == message


PREFERRED_ALLOCATION_REQUEST = hexbytes(
    """
    0a 0b                                     # field 1 container_requests[0], len 11
       0a 01 61                               #   field 1 available_deviceIDs "a"
       0a 01 62                               #   field 1 available_deviceIDs "b"
       12 01 61                               #   field 2 must_include_deviceIDs "a"
       18 02                                  #   field 3 allocation_size (int32): 2
    """
)


def test_preferred_allocation_request_encodes_available_must_include_and_size() -> None:
    message = pb.PreferredAllocationRequest(
        container_requests=[
            pb.ContainerPreferredAllocationRequest(
                available_deviceIDs=["a", "b"], must_include_deviceIDs=["a"], allocation_size=2
            )
        ]
    )
    assert message.SerializeToString(deterministic=True) == PREFERRED_ALLOCATION_REQUEST
    assert pb.PreferredAllocationRequest.FromString(PREFERRED_ALLOCATION_REQUEST) == message


def test_allocate_and_prestart_requests_carry_device_ids_in_field_one() -> None:
    ids = hexbytes("0a 01 78")  # devices_ids "x"
    assert pb.PreStartContainerRequest(devices_ids=["x"]).SerializeToString() == ids
    assert pb.ContainerAllocateRequest(devices_ids=["x"]).SerializeToString() == ids
    assert (
        pb.AllocateRequest(
            container_requests=[pb.ContainerAllocateRequest(devices_ids=["x"])]
        ).SerializeToString()
        == hexbytes("0a 03") + ids
    )
    assert (
        pb.PreferredAllocationResponse(
            container_responses=[pb.ContainerPreferredAllocationResponse(deviceIDs=["x"])]
        ).SerializeToString()
        == hexbytes("0a 03") + ids
    )


@pytest.mark.parametrize(
    ("constant", "method"),
    [
        (v1beta1.REGISTER_METHOD, "/v1beta1.Registration/Register"),
        (v1beta1.GET_DEVICE_PLUGIN_OPTIONS_METHOD, "/v1beta1.DevicePlugin/GetDevicePluginOptions"),
        (v1beta1.LIST_AND_WATCH_METHOD, "/v1beta1.DevicePlugin/ListAndWatch"),
        (v1beta1.GET_PREFERRED_ALLOCATION_METHOD, "/v1beta1.DevicePlugin/GetPreferredAllocation"),
        (v1beta1.ALLOCATE_METHOD, "/v1beta1.DevicePlugin/Allocate"),
        (v1beta1.PRE_START_CONTAINER_METHOD, "/v1beta1.DevicePlugin/PreStartContainer"),
    ],
)
def test_full_grpc_method_names_match_the_kubelet(constant: str, method: str) -> None:
    assert constant == method
    service, rpc = method.strip("/").split("/")
    package, service_name = service.split(".")
    descriptor = pb.DESCRIPTOR.services_by_name[service_name]
    assert descriptor.full_name == service
    assert package == pb.DESCRIPTOR.package == "v1beta1"
    assert rpc in descriptor.methods_by_name


def test_only_list_and_watch_streams() -> None:
    methods = pb.DESCRIPTOR.services_by_name["DevicePlugin"].methods
    streaming = {m.name for m in methods if m.server_streaming or m.client_streaming}
    assert streaming == {"ListAndWatch"}
    assert not any(m.client_streaming for m in methods)


def test_generated_client_stubs_call_the_full_method_names() -> None:
    called: list[str] = []

    class RecordingChannel:
        def __getattr__(self, kind: str):
            def factory(method: str, *args: object, **kwargs: object) -> str:
                called.append(method)
                return method

            return factory

    v1beta1.api_pb2_grpc.RegistrationStub(RecordingChannel())
    v1beta1.api_pb2_grpc.DevicePluginStub(RecordingChannel())
    assert set(called) == {
        v1beta1.REGISTER_METHOD,
        v1beta1.GET_DEVICE_PLUGIN_OPTIONS_METHOD,
        v1beta1.LIST_AND_WATCH_METHOD,
        v1beta1.GET_PREFERRED_ALLOCATION_METHOD,
        v1beta1.ALLOCATE_METHOD,
        v1beta1.PRE_START_CONTAINER_METHOD,
    }


def test_api_constants_match_the_kubelet() -> None:
    assert (v1beta1.HEALTHY, v1beta1.UNHEALTHY) == ("Healthy", "Unhealthy")
    assert v1beta1.VERSION == "v1beta1"
    assert v1beta1.SUPPORTED_VERSIONS == ("v1beta1",)
    assert v1beta1.DEVICE_PLUGIN_PATH == "/var/lib/kubelet/device-plugins/"
    assert v1beta1.KUBELET_SOCKET == "/var/lib/kubelet/device-plugins/kubelet.sock"
    assert v1beta1.CHECKPOINT_FILE_NAME == "kubelet_internal_checkpoint"
