"""Kubelet pod resources API v1: messages and the PodResourcesLister service.

Import the messages as ``from deviceplugin.podresources.v1 import api_pb2 as pr`` and the
service from ``api_pb2_grpc``; both are generated from ``api.proto`` by
``python -m deviceplugin._stubs``.
"""

from __future__ import annotations

from deviceplugin.podresources.v1 import api_pb2, api_pb2_grpc

# The kubelet serves it on <root dir>/pod-resources/kubelet.sock (root dir /var/lib/kubelet).
POD_RESOURCES_DIR_NAME = "pod-resources"
POD_RESOURCES_SOCKET_NAME = "kubelet.sock"
POD_RESOURCES_SOCKET = "/var/lib/kubelet/pod-resources/kubelet.sock"

LIST_METHOD = "/v1.PodResourcesLister/List"
GET_ALLOCATABLE_RESOURCES_METHOD = "/v1.PodResourcesLister/GetAllocatableResources"
GET_METHOD = "/v1.PodResourcesLister/Get"

__all__ = [
    "GET_ALLOCATABLE_RESOURCES_METHOD",
    "GET_METHOD",
    "LIST_METHOD",
    "POD_RESOURCES_DIR_NAME",
    "POD_RESOURCES_SOCKET",
    "POD_RESOURCES_SOCKET_NAME",
    "api_pb2",
    "api_pb2_grpc",
]
