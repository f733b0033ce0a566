"""GetPreferredAllocation: exact size, must-include first, topology for GPUs, policy for replicas."""

from __future__ import annotations

import pytest

from plugin.errors import AllocationError
from plugin.mig import resources_for_strategy
from plugin.preferred import NOT_ENOUGH, preferred
from plugin.resources import Resource
from plugin.sharing import apply_sharing, parse_sharing
from tests.plugin.builders import gpu


def gpus(n: int = 8) -> Resource:
    return Resource(
        "nvidia.com/gpu",
        tuple(resources_for_strategy([gpu(i) for i in range(n)], "none", [])["nvidia.com/gpu"]),
    )


def replicas(n_gpus: int = 3, n: int = 4) -> Resource:
    ts = parse_sharing({"timeSlicing": {"resources": [{"name": "gpu", "replicas": n}]}}, "f", [])
    return apply_sharing(resources_for_strategy([gpu(i) for i in range(n_gpus)], "none", []), ts, [])[0]


def pairs(*groups: tuple[int, ...], score: int = 100) -> dict[frozenset[str], int]:
    out = {}
    for group in groups:
        for a in group:
            for b in group:
                if a < b:
                    out[frozenset((f"GPU-{a}", f"GPU-{b}"))] = score
    return out


def test_nvlinked_gpus_are_preferred_over_lower_indexes() -> None:
    scores = pairs((0, 5), (2, 3, 6, 7))
    available = [f"GPU-{i}" for i in (0, 2, 3, 5, 6, 7)]
    assert sorted(preferred(gpus(), available, [], 2, scores=scores)) == ["GPU-0", "GPU-5"]
    assert sorted(preferred(gpus(), available, [], 4, scores=scores)) == ["GPU-2", "GPU-3", "GPU-6", "GPU-7"]


def test_must_include_is_honoured_and_listed_first() -> None:
    scores = pairs((0, 5), (2, 3))
    result = preferred(gpus(), ["GPU-0", "GPU-2", "GPU-3", "GPU-5"], ["GPU-2"], 2, scores=scores)
    assert result == ["GPU-2", "GPU-3"]


def test_without_topology_the_lowest_indexes_win() -> None:
    assert preferred(gpus(), ["GPU-7", "GPU-1", "GPU-4"], [], 2) == ["GPU-1", "GPU-4"]


def test_answer_has_exactly_the_requested_size() -> None:
    for size in range(0, 6):
        assert len(preferred(gpus(), [f"GPU-{i}" for i in range(6)], [], size)) == size


def test_too_few_whole_gpus_get_an_empty_answer_as_nvidias_best_effort_policy_gives() -> None:
    assert preferred(gpus(), ["GPU-0", "GPU-1"], [], 3) == []
    assert preferred(gpus(), ["GPU-0", "GPU-1"], ["GPU-0", "GPU-1"], 1) == []  # size below must-include


def test_too_few_replicas_is_nvidias_error() -> None:
    resource = replicas()
    with pytest.raises(AllocationError, match=f"^{NOT_ENOUGH}$"):
        preferred(resource, [resource.devices[0].id], [], 2)


def test_distributed_spreads_replicas_over_gpus() -> None:
    resource = replicas()
    available = [d.id for d in resource.devices if d.id != "GPU-0::0"]  # one replica of GPU-0 taken
    result = preferred(resource, available, [], 3, "distributed")
    assert sorted(r.split("::")[0] for r in result) == ["GPU-0", "GPU-1", "GPU-2"]
    result = preferred(resource, available, [], 2, "distributed")
    assert {r.split("::")[0] for r in result} == {"GPU-1", "GPU-2"}  # GPU-0 already has one taken


def test_packed_fills_the_busiest_gpu_first() -> None:
    resource = replicas()
    available = [d.id for d in resource.devices if d.id != "GPU-1::0"]
    result = preferred(resource, available, [], 3, "packed")
    assert [r.split("::")[0] for r in result] == ["GPU-1", "GPU-1", "GPU-1"]


def test_replica_must_include_counts_towards_the_size() -> None:
    resource = replicas()
    result = preferred(resource, [d.id for d in resource.devices], ["GPU-2::1"], 2, "distributed")
    assert result[0] == "GPU-2::1" and len(result) == 2 and not result[1].startswith("GPU-2")


def test_unknown_must_include_is_refused() -> None:
    with pytest.raises(AllocationError, match="unknown device: GPU-42"):
        preferred(gpus(), ["GPU-0"], ["GPU-42"], 1)
