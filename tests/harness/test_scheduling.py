"""Who lets a pod run on the simulated node: the scheduler's filters and the kubelet's own checks."""

from __future__ import annotations

import pytest

from harness.scheduling import (
    AFFINITY_REASON,
    PREEMPTION,
    TAINT_REASON,
    KubeNode,
    PodPlacement,
    Requirement,
    Taint,
    Term,
    Toleration,
    admit,
)

GPU_NODE = KubeNode.make(4, {}, None)
TOLERATES_GPU = Toleration("nvidia.com/gpu", "Exists", effect="NoSchedule")


def test_a_gpu_node_is_tainted_and_labelled_as_gpu_node_pools_are():
    assert GPU_NODE.taints == [Taint("nvidia.com/gpu", "", "NoSchedule")]
    assert GPU_NODE.labels["nvidia.com/gpu.present"] == "true"
    assert GPU_NODE.labels["kubernetes.io/os"] == "linux"
    assert KubeNode.make(0, {}, None).taints == []
    assert KubeNode.make(4, {"zone": "a"}, []).taints == []


@pytest.mark.parametrize(
    ("text", "taint"),
    [
        ("nvidia.com/gpu:NoSchedule", Taint("nvidia.com/gpu", "", "NoSchedule")),
        ("dedicated=gpu:NoExecute", Taint("dedicated", "gpu", "NoExecute")),
        ("a=b:PreferNoSchedule", Taint("a", "b", "PreferNoSchedule")),
    ],
)
def test_taints_read_as_kubectl_writes_them(text, taint):
    assert Taint.parse(text) == taint
    assert str(taint) == text


@pytest.mark.parametrize("text", ["nvidia.com/gpu", "x:Never", ":NoSchedule"])
def test_a_malformed_taint_says_what_is_expected(text):
    with pytest.raises(ValueError, match=r"expected key\[=value\]:Effect"):
        Taint.parse(text)


@pytest.mark.parametrize(
    ("toleration", "tolerated"),
    [
        (Toleration("nvidia.com/gpu", "Exists"), True),  # any effect
        (Toleration("nvidia.com/gpu", "Exists", effect="NoSchedule"), True),
        (Toleration("nvidia.com/gpu", "Exists", effect="NoExecute"), False),
        (Toleration("", "Exists"), True),  # an empty key with Exists tolerates everything
        (Toleration("nvidia.com/gpu", "Equal", ""), True),  # the taint's value is empty
        (Toleration("nvidia.com/gpu", "Equal", "present"), False),
        (Toleration("other", "Exists"), False),
    ],
)
def test_toleration_matching_follows_the_api(toleration, tolerated):
    assert toleration.tolerates(Taint("nvidia.com/gpu", "", "NoSchedule")) is tolerated


def test_a_pod_without_the_toleration_gets_the_schedulers_message():
    refusal = admit(PodPlacement(), GPU_NODE)
    assert refusal is not None and refusal.by == "scheduler"
    assert refusal.message == f"0/1 nodes are available: 1 {TAINT_REASON}. {PREEMPTION}"


def test_a_pod_with_the_toleration_is_placed():
    assert admit(PodPlacement([TOLERATES_GPU]), GPU_NODE) is None


def test_prefer_no_schedule_never_refuses_a_pod():
    node = KubeNode.make(4, {}, ["nvidia.com/gpu:PreferNoSchedule"])
    assert admit(PodPlacement(), node) is None


def test_taints_are_checked_before_node_affinity_as_the_schedulers_filters_run():
    pod = PodPlacement(node_selector={"zone": "b"})
    refusal = admit(pod, GPU_NODE)
    assert refusal is not None and TAINT_REASON in refusal.message


def test_a_node_selector_that_does_not_match_gets_the_affinity_reason():
    refusal = admit(PodPlacement([TOLERATES_GPU], node_selector={"zone": "b"}), GPU_NODE)
    assert refusal is not None
    assert refusal.message == f"0/1 nodes are available: 1 {AFFINITY_REASON}. {PREEMPTION}"
    assert admit(PodPlacement([TOLERATES_GPU], node_selector={"kubernetes.io/os": "linux"}), GPU_NODE) is None


@pytest.mark.parametrize(
    ("requirement", "matches"),
    [
        (Requirement("nvidia.com/gpu.present", "In", ("true",)), True),
        (Requirement("nvidia.com/gpu.present", "NotIn", ("true",)), False),
        (Requirement("missing", "NotIn", ("x",)), True),
        (Requirement("missing", "Exists"), False),
        (Requirement("missing", "DoesNotExist"), True),
        (Requirement("gpus", "Gt", ("3",)), True),
        (Requirement("gpus", "Lt", ("3",)), False),
        (Requirement("gpus", "Gt", ("x",)), False),
    ],
)
def test_node_affinity_operators(requirement, matches):
    node = KubeNode.make(4, {"gpus": "4"}, [])
    assert (admit(PodPlacement(required_terms=[Term((requirement,))]), node) is None) is matches


def test_node_affinity_terms_are_ored_and_an_empty_term_matches_nothing():
    node = KubeNode.make(4, {}, [])
    no = Term((Requirement("missing", "Exists"),))
    yes = Term(fields=(Requirement("metadata.name", "In", (node.name,)),))
    assert admit(PodPlacement(required_terms=[no, yes]), node) is None
    assert admit(PodPlacement(required_terms=[Term()]), node) is not None
    assert admit(PodPlacement(required_terms=[]), node) is not None


def test_a_pod_bound_by_node_name_skips_the_scheduler_but_not_the_kubelets_checks():
    bound = PodPlacement(node_name=GPU_NODE.name)
    assert admit(bound, GPU_NODE) is None  # NoSchedule is the scheduler's; the kubelet ignores it
    node = KubeNode.make(4, {}, ["maintenance:NoExecute"])
    refusal = admit(bound, node)
    assert refusal is not None and refusal.by == "kubelet"
    assert (
        refusal.message == "Predicate TaintToleration failed: node(s) had taints that the pod didn't tolerate"
    )
    refusal = admit(PodPlacement(node_selector={"zone": "b"}, node_name=GPU_NODE.name), GPU_NODE)
    assert refusal is not None
    assert refusal.message == f"Predicate NodeAffinity failed: {AFFINITY_REASON}"
