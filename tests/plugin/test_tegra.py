"""--device-discovery-strategy=tegra serves NVIDIA's one "tegra" device, without asking NVML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import FakeKubelet
from fake_nvml import FakeNVML
from plugin import InitError
from plugin.allocate import allocate
from plugin.config import load_config
from plugin.errors import AllocationError
from plugin.preferred import NOT_ENOUGH, preferred
from plugin.sharing import apply_sharing, parse_sharing
from plugin.tegra import tegra_resources
from tests.plugin.conftest import LogLines, MakePlugin

GPU = "nvidia.com/gpu"


class CallCounter:
    """Wraps a node and counts the NVML functions the plugin calls on it."""

    def __init__(self, node: FakeNVML) -> None:
        self.node = node
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("nvml"):
            self.calls.append(name)
        return getattr(self.node, name)


def tegra(replicas: int = 0) -> Any:
    sharing = None
    if replicas:
        sharing = parse_sharing(
            {"timeSlicing": {"resources": [{"name": "gpu", "replicas": replicas}]}}, "f", []
        )
    return apply_sharing(tegra_resources(), sharing, [], tegra=True)[0]


def test_an_explicit_tegra_strategy_never_calls_nvml(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    counter = CallCounter(node)
    manager = make_plugin(counter, "--device-discovery-strategy=tegra")
    kubelet.wait_for_allocatable(GPU, 1)
    assert [d.id for d in kubelet.resource(GPU).devices] == ["tegra"]
    manager.rebuild("test")
    kubelet.wait_for_allocatable(GPU, 1)
    assert counter.calls == []
    plugin_logs.wait_for("discovery-strategy", strategy="tegra", requested="tegra")
    plugin_logs.wait_for("health-checks-disabled", reason="tegra devices are not health-checked")


def test_auto_logs_the_detected_platform_and_why(
    node: FakeNVML, kubelet: FakeKubelet, make_plugin: MakePlugin, plugin_logs: LogLines, tmp_path: Path
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/nv_tegra_release").write_text("R36\n")
    node.fail_init("library_not_found")
    make_plugin(node, f"--driver-root-ctr-path={tmp_path}")
    kubelet.wait_for_allocatable(GPU, 1)
    [line] = plugin_logs.wait_for("discovery-strategy", strategy="tegra", requested="auto", platform="tegra")
    assert "nv_tegra_release found" in line["reason"] and "could not load NVML library" in line["reason"]


def test_an_unknown_platform_warns_and_tries_nvml(
    node: FakeNVML, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    node.fail_init("library_not_found")
    with pytest.raises(InitError, match="failed to initialize NVML"):
        make_plugin(node, "--driver-root-ctr-path=/nonexistent")
    plugin_logs.wait_for("discovery-warning", message="Unsupported platform detected; defaulting to nvml")


def test_mixed_without_nvml_warns_as_nvidia_does(
    node: FakeNVML, make_plugin: MakePlugin, plugin_logs: LogLines
) -> None:
    node.fail_init("library_not_found")
    make_plugin(node, "--device-discovery-strategy=tegra", "--mig-strategy=mixed")
    [line] = plugin_logs.wait_for("discovery-warning")
    assert line["message"].startswith('mig-strategy="mixed" is only supported with NVML; NVML not detected')


def test_cdi_without_nvml_fails_the_start_even_without_fail_on_init_error(
    node: FakeNVML, make_plugin: MakePlugin, tmp_path: Path
) -> None:
    node.fail_init("library_not_found")
    with pytest.raises(InitError, match="only supported on NVML-based systems"):
        make_plugin(node, "--device-list-strategy=cdi-cri", f"--cdi-root={tmp_path}")


def test_replicas_reach_the_runtime_as_tegra_or_index_0() -> None:
    resource = tegra(replicas=4)
    assert [d.id for d in resource.devices] == [f"tegra::{n}" for n in range(4)]
    request = pb.AllocateRequest(
        container_requests=[pb.ContainerAllocateRequest(devices_ids=["tegra::1", "tegra::3"])]
    )
    for strategy, visible in (("uuid", "tegra"), ("index", "0")):
        config = load_config(["--device-id-strategy", strategy, "--pass-device-specs"], {})
        [answer] = allocate(resource, request, config).container_responses
        assert dict(answer.envs) == {"NVIDIA_VISIBLE_DEVICES": visible}
        assert list(answer.devices) == []


def test_pass_device_specs_passes_no_control_nodes_for_tegra(tmp_path: Path) -> None:
    (tmp_path / "dev").mkdir()
    for name in ("nvidiactl", "nvidia-uvm", "nvidia0"):
        (tmp_path / "dev" / name).touch()
    config = load_config(["--pass-device-specs", f"--dev-root={tmp_path}"], {})
    request = pb.AllocateRequest(container_requests=[pb.ContainerAllocateRequest(devices_ids=["tegra"])])
    [answer] = allocate(tegra(), request, config).container_responses
    assert list(answer.devices) == []


def test_preferred_allocation_is_greedy_and_distributed_whatever_the_policy() -> None:
    resource = tegra(replicas=4)
    ids = [d.id for d in resource.devices]
    assert preferred(resource, ids, [], 2, "packed") == ["tegra::0", "tegra::1"]
    with pytest.raises(AllocationError, match=NOT_ENOUGH):
        preferred(tegra(), ["tegra"], [], 2)
