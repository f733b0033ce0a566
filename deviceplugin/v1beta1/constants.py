"""Constants of the v1beta1 device plugin API (k8s.io/kubelet constants.go) and the device manager."""

from __future__ import annotations

HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"

VERSION = "v1beta1"
SUPPORTED_VERSIONS: tuple[str, ...] = (VERSION,)

# The kubelet's directory for device plugin sockets; the trailing slash is the kubelet's own spelling.
DEVICE_PLUGIN_PATH = "/var/lib/kubelet/device-plugins/"
KUBELET_SOCKET_NAME = "kubelet.sock"
KUBELET_SOCKET = DEVICE_PLUGIN_PATH + KUBELET_SOCKET_NAME
# Written by the kubelet's device manager (not part of the API) beside the sockets.
CHECKPOINT_FILE_NAME = "kubelet_internal_checkpoint"

PRE_START_CONTAINER_TIMEOUT_S = 30.0
# Longest unix socket path: sun_path holds 108 bytes including the terminating NUL.
MAX_UNIX_SOCKET_PATH = 107
