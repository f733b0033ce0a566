"""Kubelet device plugin API v1beta1: messages, service stubs and constants.

Import the messages as ``from deviceplugin.v1beta1 import api_pb2 as pb`` and the
services from ``api_pb2_grpc``; both are generated from ``api.proto`` by
``python -m deviceplugin.v1beta1._generate``.
"""

from __future__ import annotations

from deviceplugin.v1beta1 import api_pb2, api_pb2_grpc
from deviceplugin.v1beta1.constants import (
    CHECKPOINT_FILE_NAME,
    DEVICE_PLUGIN_PATH,
    HEALTHY,
    KUBELET_SOCKET,
    KUBELET_SOCKET_NAME,
    MAX_UNIX_SOCKET_PATH,
    PRE_START_CONTAINER_TIMEOUT_S,
    SUPPORTED_VERSIONS,
    UNHEALTHY,
    VERSION,
)

# Full gRPC method names, as the kubelet and plugins put them on the wire.
REGISTER_METHOD = "/v1beta1.Registration/Register"
GET_DEVICE_PLUGIN_OPTIONS_METHOD = "/v1beta1.DevicePlugin/GetDevicePluginOptions"
LIST_AND_WATCH_METHOD = "/v1beta1.DevicePlugin/ListAndWatch"
GET_PREFERRED_ALLOCATION_METHOD = "/v1beta1.DevicePlugin/GetPreferredAllocation"
ALLOCATE_METHOD = "/v1beta1.DevicePlugin/Allocate"
PRE_START_CONTAINER_METHOD = "/v1beta1.DevicePlugin/PreStartContainer"


def unix_target(path: str) -> str:
    """The gRPC target for a unix socket path, in the form grpcio expects."""
    return "unix://" + path if path.startswith("/") else "unix:" + path


__all__ = [
    "ALLOCATE_METHOD",
    "CHECKPOINT_FILE_NAME",
    "DEVICE_PLUGIN_PATH",
    "GET_DEVICE_PLUGIN_OPTIONS_METHOD",
    "GET_PREFERRED_ALLOCATION_METHOD",
    "HEALTHY",
    "KUBELET_SOCKET",
    "KUBELET_SOCKET_NAME",
    "LIST_AND_WATCH_METHOD",
    "MAX_UNIX_SOCKET_PATH",
    "PRE_START_CONTAINER_METHOD",
    "PRE_START_CONTAINER_TIMEOUT_S",
    "REGISTER_METHOD",
    "SUPPORTED_VERSIONS",
    "UNHEALTHY",
    "VERSION",
    "api_pb2",
    "api_pb2_grpc",
    "unix_target",
]
