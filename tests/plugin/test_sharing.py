"""Time-slicing config parses with NVIDIA's errors and replicates devices as <uuid>::<n>."""

from __future__ import annotations

import pytest

from plugin.errors import ConfigError
from plugin.mig import resources_for_strategy
from plugin.sharing import apply_time_slicing, parse_sharing, strip_replica
from tests.plugin.builders import gpu


def sharing(resources: list | None, **flags: object) -> dict:
    ts: dict = dict(flags)
    if resources is not None:
        ts["resources"] = resources
    return {"timeSlicing": ts}


def test_replicas_are_advertised_with_suffixes_sharing_their_gpu() -> None:
    ts = parse_sharing(sharing([{"name": "nvidia.com/gpu", "replicas": 3}]), "f", [])
    [resource] = apply_time_slicing(resources_for_strategy([gpu(0, numa=1), gpu(1)], "none", []), ts, [])
    assert resource.name == "nvidia.com/gpu"
    assert [d.id for d in resource.devices] == [
        "GPU-0::0",
        "GPU-0::1",
        "GPU-0::2",
        "GPU-1::0",
        "GPU-1::1",
        "GPU-1::2",
    ]
    assert {d.uuid for d in resource.devices[:3]} == {"GPU-0"}
    assert resource.devices[0].numa_node == 1
    assert resource.shared and resource.replicas == 3
    assert strip_replica("GPU-0::2") == "GPU-0"


def test_rename_by_default_makes_a_shared_resource_and_short_names_get_the_prefix() -> None:
    ts = parse_sharing(
        sharing([{"name": "gpu", "replicas": 2}], renameByDefault=True, failRequestsGreaterThanOne=True),
        "f",
        [],
    )
    [resource] = apply_time_slicing(resources_for_strategy([gpu(0)], "none", []), ts, [])
    assert resource.name == "nvidia.com/gpu.shared"
    assert resource.socket_name == "nvidia-gpu.shared.sock"
    assert resource.fail_requests_greater_than_one


def test_mig_resources_can_be_shared_too() -> None:
    ts = parse_sharing(sharing([{"name": "nvidia.com/mig-1g.10gb", "replicas": 2}]), "f", [])
    base = resources_for_strategy([gpu(0), gpu(1, mig=[("1g.10gb", 1, 0)])], "mixed", [])
    served = {r.name: [d.id for d in r.devices] for r in apply_time_slicing(base, ts, [])}
    assert served == {"nvidia.com/gpu": ["GPU-0"], "nvidia.com/mig-1g.10gb": ["MIG-1-0::0", "MIG-1-0::1"]}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (sharing(None), "no resources specified"),
        (sharing([{"name": "nvidia.com/gpu"}]), "no replicas specified"),
        (sharing([{"name": "nvidia.com/gpu", "replicas": 1}]), "number of replicas must be >= 2, got 1"),
        (sharing([{"replicas": 2}]), "no resource name specified"),
        (sharing([{"name": "amd.com/gpu", "replicas": 2}]), "must use the prefix nvidia.com/"),
        (sharing([{"name": "gpu", "replicas": "four"}]), "replicas: expected an integer, got 'four'"),
        ({"mps": {"resources": []}}, "MPS sharing is not supported"),
    ],
)
def test_bad_sharing_config_is_refused(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sharing(section, "config file c.yaml", [])


def test_per_resource_rename_and_device_subsets_are_warned_about() -> None:
    warnings: list[str] = []
    parse_sharing(sharing([{"name": "gpu", "replicas": 2, "rename": "x", "devices": [0]}]), "f", warnings)
    assert len(warnings) == 2
