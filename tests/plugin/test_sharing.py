"""Time-slicing config parses with NVIDIA's errors and replicates devices as <uuid>::<n>."""

from __future__ import annotations

import re

import pytest

from plugin.errors import ConfigError
from plugin.mig import resources_for_strategy
from plugin.sharing import apply_sharing, parse_sharing, strip_replica
from tests.plugin.builders import gpu


def sharing(resources: list | None, **flags: object) -> dict:
    ts: dict = dict(flags)
    if resources is not None:
        ts["resources"] = resources
    return {"timeSlicing": ts}


def test_replicas_are_advertised_with_suffixes_sharing_their_gpu() -> None:
    ts = parse_sharing(sharing([{"name": "nvidia.com/gpu", "replicas": 3}]), "f", [])
    [resource] = apply_sharing(resources_for_strategy([gpu(0, numa=1), gpu(1)], "none", []), ts, [])
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
    [resource] = apply_sharing(resources_for_strategy([gpu(0)], "none", []), ts, [])
    assert resource.name == "nvidia.com/gpu.shared"
    assert resource.socket_name == "nvidia-gpu.shared.sock"
    assert resource.fail_requests_greater_than_one


def test_mig_resources_can_be_shared_too() -> None:
    ts = parse_sharing(sharing([{"name": "nvidia.com/mig-1g.10gb", "replicas": 2}]), "f", [])
    base = resources_for_strategy([gpu(0), gpu(1, mig=[("1g.10gb", 1, 0)])], "mixed", [])
    served = {r.name: [d.id for d in r.devices] for r in apply_sharing(base, ts, [])}
    assert served == {"nvidia.com/gpu": ["GPU-0"], "nvidia.com/mig-1g.10gb": ["MIG-1-0::0", "MIG-1-0::1"]}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (sharing(None), "no resources specified"),
        (sharing([{"name": "nvidia.com/gpu"}]), "no replicas specified"),
        (sharing([{"name": "nvidia.com/gpu", "replicas": 1}]), "number of replicas must be >= 2, got 1"),
        (sharing([{"replicas": 2}]), "no resource name specified"),
        (
            sharing([{"name": "amd.com/gpu", "replicas": 2}]),
            "incorrect format for resource name 'nvidia.com/amd.com/gpu'",
        ),
        (sharing([{"name": "gpu", "replicas": "four"}]), "replicas: expected an integer, got 'four'"),
        ({"mps": {"resources": []}}, "sharing.mps: no resources specified"),
    ],
)
def test_bad_sharing_config_is_refused(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sharing(section, "config file c.yaml", [])


def test_per_resource_rename_and_device_subsets_are_warned_about() -> None:
    warnings: list[str] = []
    parse_sharing(sharing([{"name": "gpu", "replicas": 2, "rename": "x", "devices": [0]}]), "f", warnings)
    assert len(warnings) == 2


@pytest.mark.parametrize(
    ("devices", "message"),
    [
        ("some", "devices set as 'some' but the only valid string input is 'all'"),
        (0, "devices set as '0' but a count of devices must be > 0"),
        (-2, "devices set as '-2' but a count of devices must be > 0"),
        (["GPU-not-a-uuid"], "unsupported type for device in devices list: GPU-not-a-uuid, string"),
        ([1.5], "unsupported type for device in devices list: , string"),
        (["0:x"], "unsupported type for device in devices list: 0:x, string"),
        (True, "unrecognized type for devices spec: true"),
        ({"count": 2}, 'unrecognized type for devices spec: {"count": 2}'),
    ],
)
def test_malformed_time_slicing_devices_are_rejected_as_nvidia_rejects_them(
    devices: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_sharing(sharing([{"name": "gpu", "replicas": 2, "devices": devices}]), "f", [])


@pytest.mark.parametrize(
    "devices",
    [
        "all",
        2,
        [
            0,
            "1",
            "0:1",
            "GPU-b1028956-cfa2-0990-bf4a-5da9abb51763",
            "MIG-GPU-b1028956-cfa2-0990-bf4a-5da9abb51763/3/0",
        ],
    ],
)
def test_devices_nvidia_accepts_are_accepted(devices: object) -> None:
    assert parse_sharing(sharing([{"name": "gpu", "replicas": 2, "devices": devices}]), "f", []) is not None


def test_a_bad_rename_is_rejected_and_a_good_one_ignored_with_nvidias_warning() -> None:
    bad = re.escape("incorrect format for resource name 'nvidia.com/Bad_Name'")
    with pytest.raises(ConfigError, match=bad):
        parse_sharing(sharing([{"name": "gpu", "replicas": 2, "rename": "Bad_Name"}]), "f", [])
    warnings: list[str] = []
    ts = parse_sharing(sharing([{"name": "gpu", "replicas": 2, "rename": "gpu.split"}]), "f", warnings)
    assert ts is not None and ts.resources[0].rename == ""
    assert warnings == [
        "Setting the 'rename' field in sharing.timeSlicing.resources is not yet supported in the config. "
        "Ignoring..."
    ]


def test_mps_fails_requests_for_more_than_one_replica_by_default_and_wins_over_time_slicing() -> None:
    both = {
        "timeSlicing": {"resources": [{"name": "gpu", "replicas": 2}]},
        "mps": {"resources": [{"name": "gpu", "replicas": 4}]},
    }
    mps = parse_sharing(both, "f", [])
    assert (
        mps is not None
        and mps.mps
        and mps.fail_requests_greater_than_one
        and mps.replicas_for("nvidia.com/gpu") == 4
    )
    relaxed = parse_sharing(
        {"mps": {"failRequestsGreaterThanOne": False, "resources": [{"name": "gpu", "replicas": 2}]}}, "f", []
    )
    assert relaxed is not None and not relaxed.fail_requests_greater_than_one
