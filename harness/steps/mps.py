"""A simulated MPS control daemon: ``mps_daemon: {start: nvidia.com/gpu, root: ...}``.

NVIDIA's mps-control-daemon sidecar starts ``nvidia-cuda-mps-control -d`` per shared resource
under the MPS root; a plugin asks it for its default active thread percentage through the control
command before it serves the resource. Here the daemon is a control pipe (a FIFO named
``control``) in ``<root>/<resource>/pipe`` plus the sidecar's ``<root>/<resource>/.started``; the
stand-in ``nvidia-cuda-mps-control`` beside the MPS scenarios (``scenarios/mps/_bin``, put first on
the plugin's PATH) answers while that pipe exists, for our plugin and any other alike.
"""

# ruff: noqa: RUF009  (doc() and loc_field() return dataclasses.field(...) with documentation)
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.context import StepFailed
from harness.model.base import Step
from harness.model.registry import step
from harness.model.schema import doc
from harness.model.text import Text

if TYPE_CHECKING:
    from harness.context import Ctx


@step("mps_daemon")
@dataclass
class MpsDaemonStep(Step):
    """Start or stop the simulated MPS control daemon of one resource."""

    root: Text = doc("the MPS root (what the plugin gets as --mps-root), e.g. '{socket_dir}/../mps'")
    start: Text | None = doc("start the daemon of this resource (e.g. nvidia.com/gpu)", default=None)
    stop: Text | None = doc("stop the daemon of this resource", default=None)

    def describe(self) -> str:
        return f"MPS daemon {'start ' + str(self.start) if self.start else 'stop ' + str(self.stop)}"

    def run(self, ctx: Ctx) -> None:
        if bool(self.start) == bool(self.stop):
            raise StepFailed("mps_daemon takes exactly one of start or stop")
        resource = ctx.t(str(self.start or self.stop))
        base = os.path.join(ctx.t(str(self.root)), resource)
        pipe = os.path.join(base, "pipe", "control")
        started = os.path.join(base, ".started")
        if self.start:
            os.makedirs(os.path.dirname(pipe), exist_ok=True)
            os.makedirs(os.path.join(ctx.t(str(self.root)), "shm"), exist_ok=True)
            if not os.path.exists(pipe):
                os.mkfifo(pipe)
            open(started, "w").close()
        else:
            for path in (pipe, started):
                if os.path.exists(path):
                    os.unlink(path)
        ctx.note("mps-daemon", resource=resource, running=bool(self.start))
