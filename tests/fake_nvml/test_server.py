"""Out of process: a served node and its pynvml drop-in client."""

from __future__ import annotations

import os
import threading
import time

import pynvml
import pytest

from fake_nvml import FakeNVML


@pytest.fixture
def served(node: FakeNVML, sockdir: str):
    path = os.path.join(sockdir, "nvml.sock")
    server = node.serve(path)
    client = FakeNVML.connect(path)
    yield node, client, server
    client.close()
    server.close()


def test_the_client_sees_the_same_node_with_pynvml_types(served) -> None:
    node, client, _ = served
    client.nvmlInit()
    assert client.nvmlDeviceGetCount() == 4
    h = client.nvmlDeviceGetHandleByIndex(3)
    assert client.nvmlDeviceGetUUID(h) == node.gpus[3].uuid
    pci = client.nvmlDeviceGetPciInfo(h)
    assert isinstance(pci, pynvml.nvmlPciInfo_t) and pci.busId == node.gpus[3].pci_bus_id
    assert client.nvmlDeviceGetCudaComputeCapability(h) == (9, 0)
    assert client.nvmlDeviceGetMigMode(h) == [0, 0]
    assert client.nvmlDeviceGetMemoryInfo(h).total == 81559 * 1024 * 1024
    assert client.NVMLError_GpuIsLost is pynvml.NVMLError_GpuIsLost
    assert client.nvmlDeviceGetHandleByUUID(node.gpus[3].uuid) == h


def test_each_client_has_its_own_init_refcount(served) -> None:
    node, client, _ = served
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        client.nvmlDeviceGetCount()
    client.nvmlInit()
    client.nvmlShutdown()
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        client.nvmlDeviceGetCount()
    assert node.nvmlDeviceGetCount() == 4  # the in-process view is still initialised


def test_faults_injected_on_the_serving_side_reach_the_client(served) -> None:
    node, client, _ = served
    node.fail_init("driver_not_loaded")
    with pytest.raises(pynvml.NVMLError_DriverNotLoaded):
        client.nvmlInit()
    node.fail_init(None)
    client.nvmlInit()
    h = client.nvmlDeviceGetHandleByIndex(0)
    node.lose_gpu(0)
    with pytest.raises(pynvml.NVMLError_GpuIsLost):
        client.nvmlDeviceGetName(h)
    node.fail_calls("nvmlDeviceGetCount", pynvml.NVML_ERROR_UNKNOWN)
    with pytest.raises(pynvml.NVMLError_Unknown):
        client.nvmlDeviceGetCount()


def test_an_event_wait_blocks_server_side_and_wakes_on_injection(served) -> None:
    node, client, _ = served
    client.nvmlInit()
    h = client.nvmlDeviceGetHandleByIndex(2)
    event_set = client.nvmlEventSetCreate()
    client.nvmlDeviceRegisterEvents(h, client.nvmlEventTypeXidCriticalError, event_set)
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(event=client.nvmlEventSetWait(event_set, 60_000)))
    thread.start()
    # another thread's query is not blocked by the pending wait (one connection per thread)
    assert client.nvmlDeviceGetCount() == 4
    node.inject_xid(2, 48)
    thread.join(5)
    event = box["event"]
    assert (event.device, event.eventType, event.eventData) == (h, pynvml.nvmlEventTypeXidCriticalError, 48)
    with pytest.raises(pynvml.NVMLError_Timeout):
        client.nvmlEventSetWait(event_set, 0)


def test_concurrent_client_threads_get_their_own_answers(served) -> None:
    node, client, _ = served
    client.nvmlInit()
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for _ in range(50):
                assert (
                    client.nvmlDeviceGetUUID(client.nvmlDeviceGetHandleByIndex(index))
                    == node.gpus[index].uuid
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i % 4,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []


def test_close_ends_pending_waits_and_returns_quickly(served) -> None:
    _node, client, server = served
    client.nvmlInit()
    event_set = client.nvmlEventSetCreate()
    client.nvmlDeviceRegisterEvents(
        client.nvmlDeviceGetHandleByIndex(0), client.nvmlEventTypeXidCriticalError, event_set
    )
    box: dict = {}
    connected = threading.Event()

    def wait() -> None:
        client.nvmlDeviceGetCount()  # this thread's connection is open before the server closes
        connected.set()
        try:
            client.nvmlEventSetWait(event_set, 600_000)
        except pynvml.NVMLError as exc:
            box["error"] = exc

    thread = threading.Thread(target=wait)
    thread.start()
    assert connected.wait(5)
    started = time.monotonic()
    server.close()
    thread.join(5)
    assert time.monotonic() - started < 3
    assert isinstance(box["error"], pynvml.NVMLError_Unknown)
    assert not os.path.exists(server.path)


def test_connecting_to_nothing_says_how_to_start_a_node(sockdir: str) -> None:
    with pytest.raises(ConnectionError, match=r"no simulated NVML node answers at .*serve\(path\)"):
        FakeNVML.connect(os.path.join(sockdir, "missing.sock"), timeout=1)


def test_unknown_functions_get_function_not_found(served) -> None:
    _, client, _ = served
    client.nvmlInit()
    with pytest.raises(pynvml.NVMLError_FunctionNotFound):
        client.call("nvmlNoSuchThing")


def test_a_vanished_node_reads_as_an_nvml_error_not_a_crash(node: FakeNVML, sockdir: str) -> None:
    path = os.path.join(sockdir, "n.sock")
    server = node.serve(path)
    client = FakeNVML.connect(path)
    client.nvmlInit()
    server.close()
    for _ in range(2):  # the broken connection, then the failed reconnect
        with pytest.raises(pynvml.NVMLError_Unknown):
            client.nvmlDeviceGetCount()
