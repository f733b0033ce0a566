"""Every plugin process gets the NVML shim without flags: a plugin that loads NVML itself sees the node."""

from __future__ import annotations

import os

import pytest

from harness.launchers import namespace
from harness.model.scenario import load
from harness.runner import RunOptions, run_scenario

# Our plugin reading NVML through pynvml and the C library (no connect: endpoint given).
REAL_NVML_PLUGIN = "python -m plugin --nvml real"
PATHS = "--socket-dir {socket_dir} --kubelet-socket {kubelet_socket}"
ARMED = "  - expect: {event: {source: node, kind: events_registered, count: 4}, within: 10s}\n"
XID_ON_GPU2 = (
    "  - inject: {xid: 79, gpu: gpu2}\n  - expect: {health: {gpu2: Unhealthy, others: Healthy}, within: 5s}\n"
)


def run(write, body: str, node: str = "4xH100"):
    (scenario,) = load(write("s.yaml", f"description: d\nnode: {node}\n" + body))
    result = run_scenario(scenario, RunOptions())
    assert result.status == "passed", result.report()
    return result


def test_a_subprocess_plugin_on_real_nvml_sees_the_node_and_its_faults(write) -> None:
    run(
        write,
        f"plugin: {{command: '{REAL_NVML_PLUGIN} {PATHS}'}}\n"
        "steps:\n  - expect: {registered: true, allocatable: 4, within: 10s}\n" + ARMED + XID_ON_GPU2,
    )


needs_namespace = pytest.mark.skipif(
    bool(namespace.namespace_support()), reason=namespace.namespace_support()
)


@needs_namespace
def test_in_a_namespace_a_plugin_with_default_paths_registers_and_sees_faults(write) -> None:
    run(
        write,
        f"plugin: {{launcher: namespace, command: '{REAL_NVML_PLUGIN}'}}\n"
        "steps:\n  - expect: {registered: true, allocatable: 4, within: 10s}\n" + ARMED + XID_ON_GPU2,
    )


@needs_namespace
def test_in_a_namespace_the_device_nodes_driver_files_and_library_are_where_a_gpu_host_has_them(
    write,
) -> None:
    checks = [
        "test -e /dev/nvidia3 -a -e /dev/nvidiactl -a -e /dev/nvidia-uvm",
        "test -e /dev/nvidia-caps/nvidia-cap1",
        "grep -q 'gpu0/gi' /proc/driver/nvidia-caps/mig-minors",
        'test -e "/usr/lib/$(uname -m)-linux-gnu/libnvidia-ml.so.1"',
        'test -n "$FAKE_NVML_SOCKET"',
        # the driver root NVIDIA's CDI strategies search by the node's driver version
        'test -e "$CONTAINER_DRIVER_ROOT/usr/lib/$(uname -m)-linux-gnu/libcuda.so.580.159.04"',
        'test -e "$CONTAINER_DRIVER_ROOT/usr/lib/$(uname -m)-linux-gnu/libnvidia-ml.so.580.159.04"',
        'test ! -e "$CONTAINER_DRIVER_ROOT/dev"',
        # NVIDIA writes its CDI specs to /var/run/cdi: a folder of the case's, never the host's
        'mountpoint -q "$(readlink -f /var/run/cdi)"',
        "test -c /dev/null -a -d /dev/pts",
        "echo world-ok",
        "sleep 30",
    ]
    write("check.sh", "set -e\n" + "\n".join(checks) + "\n")
    run(
        write,
        "plugin: {launcher: namespace, command: 'sh {scenario_dir}/check.sh'}\n"
        "steps:\n  - expect: {log: {regex: world-ok}, within: 5s}\n",
        node="{spec: 4xH100, mig: {gpu0: [3g.40gb, 3g.40gb]}}",
    )


@needs_namespace
def test_a_node_whose_nvml_library_is_not_found_gives_the_process_no_library(write) -> None:
    # NVIDIA's platform detection dlopens libnvidia-ml.so.1: an nvmlInit error alone is not "no NVML".
    checks = [
        'test ! -e "/usr/lib/$(uname -m)-linux-gnu/libnvidia-ml.so.1"',
        'test -z "$FAKE_NVML_SOCKET" -a -z "$CONTAINER_DRIVER_ROOT"',
        "test -e /dev/nvidia0",
        "echo no-nvml",
        "sleep 30",
    ]
    write("check.sh", "set -e\n" + "\n".join(checks) + "\n")
    run(
        write,
        "plugin: {launcher: namespace, command: 'sh {scenario_dir}/check.sh', start: false}\n"
        "steps:\n  - inject: {init_failure: library_not_found}\n  - plugin: start\n"
        "  - expect: {log: {regex: no-nvml}, within: 5s}\n",
    )


NVIDIA = os.environ.get("NVIDIA_DEVICE_PLUGIN", "")  # a built k8s-device-plugin (CI cannot build it)


@needs_namespace
@pytest.mark.skipif(not NVIDIA, reason="set NVIDIA_DEVICE_PLUGIN to a built nvidia-device-plugin binary")
def test_nvidias_plugin_registers_the_gpus_by_uuid_and_an_xid_makes_only_that_gpu_unhealthy(write) -> None:
    run(
        write,
        f"plugin: {{launcher: namespace, command: '{NVIDIA}'}}\n"
        "steps:\n"
        "  - expect:\n"
        "      registered: true\n"
        '      devices: {count: 4, ids: {set: ["{gpu0.uuid}", "{gpu1.uuid}", "{gpu2.uuid}", "{gpu3.uuid}"]}}'
        "\n"
        "      within: 20s\n" + ARMED + XID_ON_GPU2,
    )
