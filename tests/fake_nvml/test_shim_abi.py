"""The shim's C ABI, through a C program that dlopens it and resolves symbols as go-nvml does.

``shim_abi.c`` holds the checks; these tests serve its node, act at the moments it waits for
(an XID while it blocks in nvmlEventSetWait_v2, the node going away), and read its verdicts.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fake_nvml import FakeNVML, shim
from fake_nvml.shim.build import compiler
from simkit import Clock

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def abi_program(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("abi") / "shim_abi"
    command = [compiler(), "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", str(out)]
    subprocess.run([*command, str(HERE / "shim_abi.c"), "-ldl"], check=True, capture_output=True, timeout=120)
    return str(out)


@pytest.fixture
def served(sockdir: str, clock: Clock) -> Iterator[Callable[[object], tuple[FakeNVML, str]]]:
    nodes: list[FakeNVML] = []

    def serve(spec: object = "4xH100") -> tuple[FakeNVML, str]:
        node = FakeNVML.from_spec(spec, clock=clock)  # type: ignore[arg-type]
        path = os.path.join(sockdir, f"n{len(nodes)}.sock")
        node.serve(path)
        nodes.append(node)
        return node, path

    yield serve
    for node in nodes:
        node.close()


def run(program: str, check: str, socket: str | None, act: Callable[[], None] | None = None) -> list[str]:
    """Run one check; ``act`` runs when the program says it is waiting. Returns its lines."""
    env = {k: v for k, v in os.environ.items() if k != shim.SOCKET_ENV}
    if socket:
        env[shim.SOCKET_ENV] = socket
    proc = subprocess.Popen(
        [program, shim.library_path(), check],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("waiting") and act is not None:
            act()
    _, err = proc.communicate(timeout=30)
    failed = [line for line in lines if line.startswith("FAIL")]
    assert proc.returncode == 0 and not failed, "\n".join([*lines, err])
    return lines


def test_go_nvmls_versioned_symbols_resolve_with_dlsym(abi_program: str, served) -> None:
    lines = run(abi_program, "symbols", None)
    assert "ok versioned symbol nvmlEventSetWait_v2" in lines and "ok versioned symbol nvmlInit_v2" in lines


def test_queries_follow_nvmls_c_rules(abi_program: str, served) -> None:
    _, socket = served()
    lines = run(abi_program, "queries", socket)
    assert "ok one byte short answers INSUFFICIENT_SIZE" in lines
    assert "ok a stub answers NOT_SUPPORTED" in lines
    assert "ok handles are stable per device and differ between devices" in lines


def test_an_event_wait_times_out_on_schedule(abi_program: str, served) -> None:
    _, socket = served()
    run(abi_program, "timeout", socket)


def test_an_injected_xid_wakes_a_blocked_wait(abi_program: str, served) -> None:
    node, socket = served()
    reached: list[int] = []
    lines = run(abi_program, "wake", socket, act=lambda: reached.append(node.inject_xid(2, 79)))
    assert reached == [1]
    assert any(line.startswith("ok an injected XID wakes the wait") for line in lines)


def test_calls_end_at_once_when_the_node_goes_away(abi_program: str, served) -> None:
    node, socket = served()
    lines = run(abi_program, "loss", socket, act=node.close)
    assert any(line.startswith("ok later calls answer UNKNOWN at once") for line in lines)


def test_mig_handles_know_their_parent_and_instances(abi_program: str, served) -> None:
    _, socket = served({"gpus": [{"product": "H100", "count": 1, "mig": ["3g.40gb", "1g.10gb"]}]})
    run(abi_program, "mig", socket)


def test_without_a_node_init_answers_driver_not_loaded(abi_program: str) -> None:
    run(abi_program, "no-node", None)


def test_the_node_counts_its_clients_round_trip_time_without_event_waits(
    abi_program: str, sockdir: str, clock: Clock
) -> None:
    # the kubelet's response budget leaves this time out for a plugin process (the simulation's share)
    node = FakeNVML.from_spec("4xH100", clock=clock)
    server = node.serve(os.path.join(sockdir, "counted.sock"))
    try:
        assert server.client_seconds() == 0.0
        run(abi_program, "timeout", server.path)  # calls, and a 200 ms event wait with no event
        spent = server.client_seconds()
        assert 0.0 < spent < 0.19, spent
    finally:
        node.close()
