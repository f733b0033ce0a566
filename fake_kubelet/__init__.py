"""The kubelet device manager, in-process (see issue 4 and docs/fake-kubelet.md).

``FakeKubelet`` serves ``Registration`` on ``<socket_dir>/kubelet.sock`` and speaks only
the v1beta1 wire API to plugins, with the kubelet's semantics: synchronous Register
that dials back, ListAndWatch never retried, the 5-minute grace period on the scenario
clock, checkpoint and socket clean-up on restart, pod admission with the kubelet's
messages. What it sees goes to the observation log as ``"kubelet"`` events.
"""

from __future__ import annotations

from fake_kubelet.checkpoint import Checkpoint, CheckpointError, PodDeviceEntry
from fake_kubelet.contract import Violation
from fake_kubelet.errors import AdmissionError, PluginCallError
from fake_kubelet.kubelet import ENDPOINT_STOP_GRACE_PERIOD_S, PROFILES, FakeKubelet
from fake_kubelet.names import is_extended_resource_name, registration_error
from fake_kubelet.pods import (
    UNEXPECTED_ADMISSION_ERROR,
    Admission,
    Container,
    ContainerAllocation,
    ContainerStart,
    Pod,
)
from fake_kubelet.responses import merge_run_options, response_to_dict
from fake_kubelet.state import DeviceState, EndpointState, ResourceState

__all__ = [
    "ENDPOINT_STOP_GRACE_PERIOD_S",
    "PROFILES",
    "UNEXPECTED_ADMISSION_ERROR",
    "Admission",
    "AdmissionError",
    "Checkpoint",
    "CheckpointError",
    "Container",
    "ContainerAllocation",
    "ContainerStart",
    "DeviceState",
    "EndpointState",
    "FakeKubelet",
    "PluginCallError",
    "Pod",
    "PodDeviceEntry",
    "ResourceState",
    "Violation",
    "is_extended_resource_name",
    "merge_run_options",
    "registration_error",
    "response_to_dict",
]
