"""The TopologyManager's merge, as upstream policy_*_test.go pin it, on a two-NUMA-node machine."""

from __future__ import annotations

from collections import Counter

import pytest

from fake_kubelet.numa import TopologyHint, generate_hints, is_narrower, iterate_masks
from fake_kubelet.topology_manager import TopologyPolicy

NODES = (0, 1)


def hint(*nodes: int, preferred: bool = True) -> TopologyHint:
    return TopologyHint(frozenset(nodes), preferred)


def merge(policy: str, *providers: dict) -> tuple[TopologyHint, bool]:
    return TopologyPolicy(policy, "container", NODES).merge(list(providers))


def test_masks_are_iterated_by_size_then_in_order_and_narrower_means_fewer_then_lower_nodes() -> None:
    assert [sorted(m) for m in iterate_masks([1, 0, 2])] == [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]
    assert is_narrower(frozenset({1}), frozenset({0, 1}))
    assert is_narrower(frozenset({0, 1}), frozenset({0, 2}))
    assert not is_narrower(frozenset({1}), frozenset({0}))


def test_providers_without_preference_merge_to_every_node_preferred() -> None:
    assert merge("best-effort", {}) == (hint(0, 1), True)
    assert merge("restricted", {"gpu": None}) == (hint(0, 1), True)


def test_a_resource_that_cannot_be_satisfied_merges_to_a_non_preferred_hint() -> None:
    best, admit = merge("best-effort", {"gpu": []})
    assert (best, admit) == (hint(0, 1, preferred=False), True)
    assert merge("restricted", {"gpu": []})[1] is False


def test_two_resources_on_one_node_merge_to_that_node_preferred() -> None:
    gpu = {"gpu": [hint(0), hint(1), hint(0, 1, preferred=False)]}
    nic = {"nic": [hint(1), hint(0, 1, preferred=False)]}
    assert merge("restricted", gpu, nic) == (hint(1), True)


def test_resources_that_only_meet_across_nodes_give_the_narrowest_non_preferred_merge() -> None:
    gpu = {"gpu": [hint(0), hint(0, 1, preferred=False)]}
    nic = {"nic": [hint(1), hint(0, 1, preferred=False)]}
    best, admit = merge("best-effort", gpu, nic)
    assert (best, admit) == (hint(0, preferred=False), True)
    assert merge("restricted", gpu, nic) == (hint(0, preferred=False), False)


def test_single_numa_node_only_keeps_single_node_hints_and_rejects_a_cross_node_need() -> None:
    two_nodes = {"gpu": [hint(0, 1)]}
    assert merge("single-numa-node", two_nodes) == (TopologyHint(None, False), False)
    assert merge("single-numa-node", {"gpu": [hint(1), hint(0, 1, preferred=False)]}) == (hint(1), True)
    # Every node, preferred (nobody cares): single-numa-node reports it as "no affinity".
    assert merge("single-numa-node", {}) == (TopologyHint(None, True), True)


def test_policy_none_aligns_nothing_and_bad_configurations_say_what_is_allowed() -> None:
    assert not TopologyPolicy("none").aligns
    with pytest.raises(ValueError, match="choose one of"):
        TopologyPolicy("strict")
    with pytest.raises(ValueError, match="at most 8"):
        TopologyPolicy("restricted", "pod", tuple(range(9)))


def test_device_hints_prefer_the_narrowest_mask_the_devices_could_cover() -> None:
    on = {0: frozenset({0}), 1: frozenset({1})}
    # topology_hints_test "Single Request, one device per socket": {0} and {1} preferred, {0,1} not.
    everything = Counter([on[0], on[1]])
    hints = generate_hints(NODES, everything=everything, available=everything, request=1)
    assert hints == [hint(0), hint(1), hint(0, 1, preferred=False)]
    # "Request for 2, optimal on 1 NUMA node, forced cross-NUMA": 2 of 4 free, one per node.
    everything = Counter([on[0], on[0], on[1], on[1]])
    hints = generate_hints(NODES, everything=everything, available=Counter([on[0], on[1]]), request=2)
    assert hints == [hint(0, 1, preferred=False)]
    # "Single device type, more requested than available": no hint at all.
    assert generate_hints(NODES, everything=everything, available=everything, request=6) == []
