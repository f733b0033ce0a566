"""Kubelet plugin registration API v1 (proto package ``pluginregistration``).

A plugin that registers through the kubelet's plugin watcher serves ``Registration`` on a
socket in ``plugins_registry``. Messages as ``from deviceplugin.pluginregistration.v1 import
api_pb2 as reg``; generated from ``api.proto`` by ``python -m deviceplugin._stubs``.
"""

from __future__ import annotations

from deviceplugin.pluginregistration.v1 import api_pb2, api_pb2_grpc

PLUGINS_REGISTRY_DIR_NAME = "plugins_registry"
PLUGINS_REGISTRY = "/var/lib/kubelet/plugins_registry"

# PluginInfo.type values.
DEVICE_PLUGIN = "DevicePlugin"
CSI_PLUGIN = "CSIPlugin"
DRA_PLUGIN = "DRAPlugin"

# The regular file the kubelet creates in the device-plugins dir once its watcher handles
# device plugins; a plugin that finds it may skip calling Register itself.
DEPRECATION_FILE_NAME = "DEPRECATION"

GET_INFO_METHOD = "/pluginregistration.Registration/GetInfo"
NOTIFY_REGISTRATION_STATUS_METHOD = "/pluginregistration.Registration/NotifyRegistrationStatus"

__all__ = [
    "CSI_PLUGIN",
    "DEPRECATION_FILE_NAME",
    "DEVICE_PLUGIN",
    "DRA_PLUGIN",
    "GET_INFO_METHOD",
    "NOTIFY_REGISTRATION_STATUS_METHOD",
    "PLUGINS_REGISTRY",
    "PLUGINS_REGISTRY_DIR_NAME",
    "api_pb2",
    "api_pb2_grpc",
]
