"""Calls to a device plugin with deadlines on the scenario clock.

Every wait here is a condition wait on :class:`simkit.Clock`, so a hung plugin is
judged when the clock passes the deadline: in real time, or at once when a scenario
advances the clock. grpcio gets the same timeout as a real-time backstop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import grpc

from deviceplugin.v1beta1 import unix_target
from fake_kubelet.errors import DEADLINE_EXCEEDED, PluginCallError, deadline_error, from_rpc_error
from simkit import Clock

DIAL_ERROR = f"failed to dial device plugin: {DEADLINE_EXCEEDED}"


def wait_future(
    clock: Clock, future: grpc.Future[Any], deadline: float, aborted: Callable[[], bool] | None = None
) -> bool:
    """Wait until ``future`` is done or the clock reaches ``deadline``; True when it is done.

    The deadline is fixed before the call is sent, so a clock advance made as soon as the
    plugin sees the call (before this wait begins) still counts.
    """
    cond = threading.Condition()

    def wake(_: Any) -> None:
        with cond:
            cond.notify_all()

    future.add_done_callback(wake)
    with cond:
        clock.wait_for(
            cond,
            lambda: future.done() or (aborted is not None and aborted()),
            max(0.0, deadline - clock.now()),
        )
    return future.done()


# The dial's first call: a method no plugin serves, sent with wait_for_ready. Any answer (the
# plugin's gRPC server itself says UNIMPLEMENTED; no handler, no worker thread involved) proves
# the connection is up, which is what Go's blocking dial waits for. grpc.channel_ready_future would
# do the same through grpcio's connectivity poller, whose 0.2 s watch then stalls channel.close().
DIAL_PROBE_METHOD = "/fake_kubelet.Dial/Connected"
_NOT_CONNECTED = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def dial(clock: Clock, path: str, timeout: float, aborted: Callable[[], bool] | None = None) -> grpc.Channel:
    """A blocking dial of a plugin socket, as the kubelet's ``grpc.WithBlock`` dial."""
    deadline = clock.now() + timeout
    # A fresh connection per dial, as Go's grpc.Dial makes: with gRPC Python's shared subchannel
    # pool, a dial to a path that another instance re-bound could reuse the old instance's connection.
    # No transparent retries: a call the plugin's server never processed (it stopped as the call
    # went out) is retried by grpcio and then, about 3 % of the time under load, hangs forever with
    # the channel in TRANSIENT_FAILURE; a ListAndWatch has no deadline, so the kubelet would never
    # see the plugin go. Without the retry it fails at once with UNAVAILABLE, as Go's fail-fast
    # retry does when nothing serves the socket any more.
    options = [
        ("grpc.default_authority", "localhost"),
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_retries", 0),
    ]
    channel = grpc.insecure_channel(unix_target(path), options=options)
    probe: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(DIAL_PROBE_METHOD)
    future = probe.future(b"", timeout=timeout, wait_for_ready=True)
    if not wait_future(clock, future, deadline, aborted) or _not_connected(future):
        future.cancel()
        channel.close()
        raise PluginCallError(DIAL_ERROR, code="DeadlineExceeded", deadline=True)
    return channel


def _not_connected(future: grpc.Future[Any]) -> bool:
    error = future.exception()
    return isinstance(error, grpc.Call) and error.code() in _NOT_CONNECTED


def call_unary(
    clock: Clock,
    method: grpc.UnaryUnaryMultiCallable[Any, Any],
    request: Any,
    deadline: float,
    aborted: Callable[[], bool] | None = None,
) -> Any:
    """Call a unary RPC due by clock time ``deadline``; raise :class:`PluginCallError` (Go-style
    text) on failure or deadline. The caller fixes the deadline before it announces the call, so a
    clock advance made as soon as the call is seen still counts."""
    future = method.future(request, timeout=max(0.001, deadline - clock.now()))
    if not wait_future(clock, future, deadline, aborted):
        future.cancel()
        if aborted is not None and aborted():
            raise PluginCallError("rpc error: code = Canceled desc = kubelet stopped", code="Canceled")
        raise deadline_error()
    try:
        return future.result()
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and clock.now() >= deadline:
            # gRPC's own timer for our deadline fired before the clock wait saw it; its text
            # varies ("Deadline Exceeded", under load "Stream removed"): Go reports its context's.
            raise deadline_error() from None
        raise from_rpc_error(error) from None
