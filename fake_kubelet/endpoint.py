"""One registered plugin as the kubelet holds it: a client (channel + ListAndWatch stream) and an endpoint.

The kubelet splits these too: the plugin *client* owns the connection and the stream;
the manager's *endpoint* holds the options and the stop time that starts the grace
period. An endpoint restored from the checkpoint has no client and no options.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

import grpc

from deviceplugin.v1beta1 import api_pb2 as pb
from deviceplugin.v1beta1 import api_pb2_grpc
from simkit import TimerHandle

_END = object()


def read_ahead(stream: Iterator[pb.ListAndWatchResponse]) -> Iterator[tuple[pb.ListAndWatchResponse, bool]]:
    """Each message of ``stream`` with whether another one is already waiting behind it.

    A helper thread receives as fast as the plugin sends, so the reader can tell a burst
    from a lone update (the manager writes the checkpoint once, after a burst's last
    message). The stream's own end or error comes out here, after the messages before it.
    """
    waiting: queue.SimpleQueue[object] = queue.SimpleQueue()

    def receive() -> None:
        try:
            for message in stream:
                waiting.put(message)
        except BaseException as error:  # handed to the reader, raised there
            waiting.put(error)
        waiting.put(_END)

    threading.Thread(target=receive, name="fake-kubelet-law-receive", daemon=True).start()
    item = waiting.get()
    while isinstance(item, pb.ListAndWatchResponse):
        try:
            after = waiting.get_nowait()
        except queue.Empty:
            after = None
        yield item, isinstance(after, pb.ListAndWatchResponse)
        item = waiting.get() if after is None else after
    if isinstance(item, BaseException):
        raise item


class PluginClient:
    """The connection to one plugin socket and its ListAndWatch stream (read on its own thread)."""

    def __init__(self, resource: str, endpoint: str, socket_path: str, generation: int) -> None:
        self.resource = resource
        self.endpoint = endpoint
        self.socket_path = socket_path
        self.generation = generation
        self.channel: grpc.Channel | None = None
        self.stub: api_pb2_grpc.DevicePluginStub | None = None
        self.thread: threading.Thread | None = None
        self._stream: grpc.Call | None = None
        self._lock = threading.Lock()
        self._closed = False
        # The kubelet disconnected this client and deleted it from its table by name (another
        # client's stream end did, #121994): when its own stream then ends, there is nothing
        # left for its runClient to look up.
        self.dropped = False

    def attach(self, channel: grpc.Channel) -> None:
        """The dialled connection. Like Go's Connect after a Disconnect that found no connection
        yet (c.grpc == nil), a client disconnected before it was attached works from here on."""
        with self._lock:
            self._closed = False
        self.channel = channel
        self.stub = api_pb2_grpc.DevicePluginStub(channel)  # type: ignore[no-untyped-call]

    def open_stream(self) -> Iterator[pb.ListAndWatchResponse] | None:
        """The ListAndWatch stream, or None once disconnected."""
        with self._lock:
            if self._closed or self.stub is None:
                return None
            self._stream = self.stub.ListAndWatch(pb.Empty())  # no deadline, as the kubelet
            return cast("Iterator[pb.ListAndWatchResponse]", self._stream)

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def disconnect(self) -> None:
        """Cancel the stream and close the channel; the reader thread then ends."""
        with self._lock:
            self._closed = True
            stream, channel = self._stream, self.channel
        if stream is not None:
            stream.cancel()
        if channel is not None:
            channel.close()

    def join(self, timeout: float) -> None:
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


@dataclass(eq=False)
class Endpoint:
    """The manager's record of a plugin endpoint for one resource."""

    resource: str
    socket_path: str  # "" for an endpoint restored from the checkpoint
    endpoint: str
    client: PluginClient | None
    options: pb.DevicePluginOptions | None
    stop_time: float | None = None
    grace_timer: TimerHandle | None = field(default=None, repr=False)

    @property
    def stopped(self) -> bool:
        return self.stop_time is not None

    def stop(self, now: float) -> None:
        if self.stop_time is None:
            self.stop_time = now

    def cancel_grace(self) -> None:
        if self.grace_timer is not None:
            self.grace_timer.cancel()
            self.grace_timer = None

    def stopped_error(self) -> str:
        """The kubelet's ``endpoint %v has been stopped``, naming resource and socket."""
        where = f" ({self.socket_path})" if self.socket_path else ""
        return f"endpoint {self.resource}{where} has been stopped"

    def options_dict(self) -> dict[str, bool] | None:
        if self.options is None:
            return None
        return {
            "pre_start_required": self.options.pre_start_required,
            "get_preferred_allocation_available": self.options.get_preferred_allocation_available,
        }
