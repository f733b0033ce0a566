"""The allocation cache: what each container holds, what is in use, and the checkpoint round trip."""

from __future__ import annotations

from deviceplugin.v1beta1 import api_pb2 as pb
from fake_kubelet import Container, Pod
from fake_kubelet.pod_devices import Allocation, PodDevices

GPU = "example.com/gpu"


def allocation(*devices: str, env: str = "") -> Allocation:
    return Allocation(list(devices), {0: list(devices)}, pb.ContainerAllocateResponse(envs={"E": env}))


def test_devices_held_by_any_container_are_in_use_until_their_pod_is_removed() -> None:
    cache = PodDevices()
    cache.insert("uid-a", "app", GPU, allocation("d0", "d1"))
    cache.insert("uid-b", "app", GPU, allocation("d2"))
    assert cache.in_use(GPU) == {"d0", "d1", "d2"}
    cache.remove_pod("uid-a")
    assert cache.in_use(GPU) == {"d2"}
    assert cache.get("uid-a", "app", GPU) is None
    assert cache.has_resource(GPU)
    cache.remove_pod("uid-b")
    assert not cache.has_resource(GPU)


def test_a_pods_allocations_come_in_container_order_init_containers_first() -> None:
    pod = Pod("p", [Container("app", {GPU: 1})], init_containers=[Container("init", {GPU: 1})])
    cache = PodDevices()
    cache.insert(pod.uid, "app", GPU, allocation("d1", env="app"))
    cache.insert(pod.uid, "init", GPU, allocation("d0", env="init"))
    listed = cache.pod_allocations(pod)
    assert [(a.container, a.devices, a.response["envs"]) for a in listed] == [
        ("init", ["d0"], {"E": "init"}),
        ("app", ["d1"], {"E": "app"}),
    ]


def test_the_checkpoint_entries_restore_the_same_cache() -> None:
    cache = PodDevices()
    cache.insert("uid-b", "app", GPU, allocation("d2"))
    cache.insert("uid-a", "app", GPU, allocation("d0", "d1", env="x"))
    entries = cache.to_entries()
    assert [e.pod_uid for e in entries] == ["uid-a", "uid-b"]  # sorted, as written to the file
    restored = PodDevices()
    restored.restore(entries)
    got = restored.get("uid-a", "app", GPU)
    assert got is not None
    assert (got.devices, got.numa, dict(got.response.envs)) == (["d0", "d1"], {0: ["d0", "d1"]}, {"E": "x"})
    assert restored.in_use(GPU) == {"d0", "d1", "d2"}
