"""``call:``: ask the plugin directly (as the kubelet would), and check the answer.

For what the kubelet only does in passing: GetPreferredAllocation with a chosen available
set and must-include list, Allocate with unknown IDs, GetDevicePluginOptions. The plugin's
socket is the one its resource registered with, unless ``endpoint`` names another.
"""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import grpc

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc, unix_target
from harness import templating
from harness.context import StepFailed
from harness.errors import ScenarioError
from harness.loader import YNode
from harness.model.base import Step
from harness.model.counts import Count
from harness.model.declared import DeviceText
from harness.model.duration import Wait
from harness.model.matcher import Matcher, TextMatcher
from harness.model.registry import step
from harness.model.schema import doc
from harness.model.text import Text
from simkit import WaitAborted, WaitTimeout

if TYPE_CHECKING:
    from harness.context import Ctx


class _ClockDeadline(grpc.RpcError):
    """The call's deadline passed on the scenario clock (worded as grpcio words its own)."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.DEADLINE_EXCEEDED

    def details(self) -> str:
        return "Deadline Exceeded"


def _unary(ctx: Ctx, method: Any, request: Any, **kw: Any) -> Any:
    """One call that ends at its deadline, or at once when the scenario runs out of wall-clock
    time (the runner aborts the log): a plugin that never answers cannot outlast the case.

    The deadline is on the scenario clock too, so a hung plugin is judged as soon as all else
    is quiet (``ctx.paced``); grpcio's own timeout stays the real-time backstop."""
    timeout = float(kw["timeout"])
    future = method.future(request, **kw)
    future.add_done_callback(lambda _: ctx.log.touch())
    try:
        with ctx.paced(ctx.clock.now() + timeout, inclusive=True, why="call"):
            ctx.log.wait_for(future.done, timeout, "the plugin's answer")
    except WaitAborted:
        future.cancel()
        raise
    except WaitTimeout:
        future.cancel()
        raise _ClockDeadline() from None
    return future.result()  # the reply, or the call's grpc.RpcError


RPCS = ("GetPreferredAllocation", "Allocate", "GetDevicePluginOptions", "PreStartContainer")


@step("call")
@dataclass
class Call(Step):
    """Call one of the plugin's RPCs directly and match the answer ('expect') or the error ('error')."""

    rpc: Literal["GetPreferredAllocation", "Allocate", "GetDevicePluginOptions", "PreStartContainer"] = doc(
        "which RPC"
    )
    resource: str | None = doc("whose plugin to call (default: the scenario's resource)", default=None)
    endpoint: Text | None = doc(
        "socket file name in the socket dir (default: the registered one)", default=None
    )
    devices: list[DeviceText] = doc("Allocate / PreStartContainer: device references", default_factory=list)
    available: list[DeviceText] = doc(
        "GetPreferredAllocation: available devices ('{healthy}' allowed)", default_factory=list
    )
    must_include: list[DeviceText] = doc(
        "GetPreferredAllocation: devices that must be in the answer", default_factory=list
    )
    size: Count = doc("GetPreferredAllocation: allocation size (2, '{gpus}', ...)", default=Count("1"))
    expect: Matcher | None = doc(
        "the answer: preferred → list of device IDs; Allocate → the container "
        "response {envs, mounts, devices, annotations, cdi_devices}; options → "
        "{pre_start_required, get_preferred_allocation_available}",
        default=None,
    )
    error: TextMatcher | None = doc("the call must fail with a message matching this", default=None)
    timeout: Wait = doc("deadline of the call", default=Wait(10.0))
    wait_for_ready: bool = doc(
        "wait (up to 'timeout') for the socket to appear and serve instead of failing at once "
        "(gRPC wait-for-ready): how a case waits for a plugin that serves without registering",
        default=False,
    )

    def validate(self, node: YNode) -> None:
        if self.expect is not None and self.error is not None:
            raise ScenarioError(
                node.key_loc("error"), "give 'expect' (success) or 'error' (failure), not both"
            )

    def describe(self) -> str:
        what = (
            self.error.describe() if self.error else (self.expect.describe() if self.expect else "succeeds")
        )
        return f"call {self.rpc} → {'fails ' if self.error else ''}{what}"

    def _ids(self, ctx: Ctx, refs: list[DeviceText]) -> list[str]:
        out: list[str] = []
        for ref in refs:
            value = templating.render_value(str(ref), ctx)
            out.extend(value if isinstance(value, list) else [ctx.device_id(value)])
        return out

    def _socket(self, ctx: Ctx) -> str:
        if self.endpoint is not None:
            return os.path.join(ctx.paths.socket_dir, ctx.t(self.endpoint))
        state = ctx.resource_state(self.resource)
        endpoint = getattr(state, "endpoint", None) if state is not None else None
        if endpoint is None:
            raise StepFailed(
                f"{self.resource or ctx.scenario.resource} is not registered, so there is no "
                "plugin socket to call (give 'endpoint:' to call one anyway)"
            )
        return str(endpoint.socket_path)

    def _request(self, ctx: Ctx, stub: Any) -> Any:
        kw: dict[str, Any] = {"timeout": float(self.timeout), "wait_for_ready": self.wait_for_ready}
        if self.rpc == "GetDevicePluginOptions":
            reply = _unary(ctx, stub.GetDevicePluginOptions, pb.Empty(), **kw)
            return {
                "pre_start_required": reply.pre_start_required,
                "get_preferred_allocation_available": reply.get_preferred_allocation_available,
            }
        if self.rpc == "GetPreferredAllocation":
            request = pb.PreferredAllocationRequest(
                container_requests=[
                    pb.ContainerPreferredAllocationRequest(
                        available_deviceIDs=self._ids(ctx, self.available),
                        must_include_deviceIDs=self._ids(ctx, self.must_include),
                        allocation_size=self.size.value(ctx),
                    )
                ]
            )
            reply = _unary(ctx, stub.GetPreferredAllocation, request, **kw)
            return list(reply.container_responses[0].deviceIDs) if reply.container_responses else []
        if self.rpc == "PreStartContainer":
            prestart = pb.PreStartContainerRequest(devices_ids=self._ids(ctx, self.devices))
            _unary(ctx, stub.PreStartContainer, prestart, **kw)
            return {}
        from fake_kubelet.responses import response_to_dict

        allocate = pb.AllocateRequest(
            container_requests=[pb.ContainerAllocateRequest(devices_ids=self._ids(ctx, self.devices))]
        )
        reply = _unary(ctx, stub.Allocate, allocate, **kw)
        if len(reply.container_responses) != 1:
            raise StepFailed(
                f"Allocate answered {len(reply.container_responses)} container responses for one "
                "container request"
            )
        return response_to_dict(reply.container_responses[0])

    def run(self, ctx: Ctx) -> None:
        socket = self._socket(ctx)
        options = [("grpc.enable_http_proxy", 0)]
        if self.wait_for_ready:  # reconnect soon after the socket appears, not after gRPC's 1 s backoff
            options += [("grpc.initial_reconnect_backoff_ms", 20), ("grpc.max_reconnect_backoff_ms", 100)]
        with grpc.insecure_channel(unix_target(socket), options=options) as channel:
            stub = api_pb2_grpc.DevicePluginStub(channel)  # type: ignore[no-untyped-call]
            try:
                answer = self._request(ctx, stub)
            except grpc.RpcError as exc:
                message = f"{exc.code().name}: {exc.details()}"
                ctx.note("rpc", rpc=self.rpc, error=message)
                if self.error is None:
                    raise StepFailed(
                        f"{self.rpc} failed", expectation=self.describe(), observed=message
                    ) from None
                if why := self.error.match(message, ctx):
                    raise StepFailed(
                        f"{self.rpc} failed, but not as expected",
                        expectation=self.error.describe(),
                        observed=f"{message} ({why})",
                    ) from None
                return
        ctx.note("rpc", rpc=self.rpc, answer=answer)
        if self.error is not None:
            raise StepFailed(
                f"{self.rpc} succeeded, but the scenario expects it to fail",
                expectation=self.error.describe(),
                observed=repr(answer),
            )
        if self.expect is not None and (why := self.expect.match(answer, ctx)):
            raise StepFailed(
                f"{self.rpc} answered differently",
                expectation=self.expect.describe(),
                observed=f"{answer!r}: {why}",
            )
