"""Errors as a Go kubelet would print them.

The kubelet's admission messages embed Go error strings (``rpc error: code = Unknown
desc = ...``); scenarios match on them, so we render gRPC failures the same way.
"""

from __future__ import annotations

import grpc

# Go's codes.Code.String() spellings, keyed by grpcio's enum names.
_GO_CODE_NAMES = {
    "OK": "OK",
    "CANCELLED": "Canceled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}

DEADLINE_EXCEEDED = "context deadline exceeded"


class PluginCallError(Exception):
    """A call to a device plugin failed; ``str()`` is the Go-style error text."""

    def __init__(self, message: str, *, code: str = "Unknown", deadline: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.deadline = deadline


def go_code_name(code: grpc.StatusCode | None) -> str:
    if code is None:
        return "Unknown"
    return _GO_CODE_NAMES.get(code.name, code.name.title().replace("_", ""))


def go_rpc_error(code: grpc.StatusCode | None, details: str | None) -> str:
    """``status.Error(code, desc).Error()`` as grpc-go prints it."""
    return f"rpc error: code = {go_code_name(code)} desc = {details or ''}"


def from_rpc_error(error: grpc.RpcError) -> PluginCallError:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and details == "Deadline Exceeded":
        # Our own call deadline fired inside gRPC (it races the clock's): Go reports its context's.
        return deadline_error()
    return PluginCallError(go_rpc_error(code, details), code=go_code_name(code))


def deadline_error() -> PluginCallError:
    return PluginCallError(
        go_rpc_error(grpc.StatusCode.DEADLINE_EXCEEDED, DEADLINE_EXCEEDED),
        code="DeadlineExceeded",
        deadline=True,
    )


class AdmissionError(Exception):
    """A device manager error; ``str()`` is the kubelet's message."""
