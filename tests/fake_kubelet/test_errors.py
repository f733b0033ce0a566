"""Plugin call failures read as the Go kubelet prints them."""

from __future__ import annotations

import grpc
import pytest

from fake_kubelet.errors import PluginCallError, from_rpc_error
from fake_kubelet.rpc import call_unary


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


class _Done:
    """A finished unary call as grpc's future: ``error`` is what ``result()`` raises."""

    def __init__(self, error: grpc.RpcError) -> None:
        self.error = error

    def add_done_callback(self, callback) -> None:
        callback(self)

    def done(self) -> bool:
        return True

    def cancel(self) -> bool:
        return False

    def result(self):
        raise self.error


class _Method:
    def __init__(self, error: grpc.RpcError) -> None:
        self.error = error

    def future(self, request, timeout):
        return _Done(self.error)


def test_grpcs_own_timer_for_our_deadline_reads_as_gos_context_deadline_whatever_its_text(clock) -> None:
    """Under load gRPC's timer (set from our deadline) can fire first and say "Stream removed"."""
    for text in ("Deadline Exceeded", "Stream removed"):
        failed = _Method(Failed(grpc.StatusCode.DEADLINE_EXCEEDED, text))
        with pytest.raises(PluginCallError) as caught:
            call_unary(clock, failed, object(), deadline=clock.now())
        assert str(caught.value) == "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
        assert caught.value.deadline


def test_a_deadline_status_before_our_deadline_is_the_plugins_own(clock) -> None:
    failed = _Method(Failed(grpc.StatusCode.DEADLINE_EXCEEDED, "backend timed out"))
    with pytest.raises(PluginCallError) as caught:
        call_unary(clock, failed, object(), deadline=clock.now() + 60)
    assert str(caught.value) == "rpc error: code = DeadlineExceeded desc = backend timed out"
    assert not caught.value.deadline
