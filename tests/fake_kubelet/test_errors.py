"""Plugin call failures read as the Go kubelet prints them."""

from __future__ import annotations

import grpc

from fake_kubelet.errors import from_rpc_error


class Failed(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_our_own_deadline_firing_inside_grpc_reads_as_gos_context_deadline() -> None:
    error = from_rpc_error(Failed(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"))
    assert str(error) == "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    assert error.deadline


def test_a_plugins_own_status_keeps_its_code_and_message() -> None:
    error = from_rpc_error(Failed(grpc.StatusCode.UNKNOWN, "invalid request: unknown device: x"))
    assert str(error) == "rpc error: code = Unknown desc = invalid request: unknown device: x"
    assert not error.deadline
