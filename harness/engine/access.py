"""The Docker engine as the container launcher needs it: reachable or not (and why), and a reaper.

Every container the harness starts carries the label :data:`SESSION_LABEL` with this process's
session id. :func:`ensure_reaper` starts, once per process, ``python -m harness.engine.reaper``
(testcontainers' Ryuk, as a local process: Ryuk's own image cannot be pulled where no registry
is reachable). It holds a pipe from this process; when the pipe closes, because the run ended,
was interrupted by Ctrl-C or SIGTERM, or was killed outright, the reaper removes whatever
container of the session is left, with its anonymous volumes.

Under CI (:data:`REQUIRE_ENV` set, as ``.ci/run`` does) a container case that cannot run here
fails instead of skipping.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import uuid
from typing import Any

SESSION_LABEL = "io.github.gpu-device-plugin-harness.session"
CASE_LABEL = "io.github.gpu-device-plugin-harness.case"
REQUIRE_ENV = "HARNESS_REQUIRE_DOCKER"
SESSION = uuid.uuid4().hex
API_TIMEOUT_S = 30.0  # one engine call (create, start, stop); log streams have none
REAPER_READY_S = 20.0

_lock = threading.Lock()
_reaper: subprocess.Popen[bytes] | None = None


def required() -> bool:
    """Whether container cases must run (CI): then "no engine here" is a failure, not a skip."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


@functools.cache
def client() -> Any:
    """One ``docker.DockerClient`` per process (it is thread-safe)."""
    import docker

    return docker.from_env(timeout=int(API_TIMEOUT_S))


@functools.cache
def engine_support() -> str:
    """'' when a Docker engine answers here, else one line saying why not."""
    try:
        import docker
        import testcontainers  # noqa: F401  (the launcher runs containers through it)
    except ImportError as exc:
        return f"the container launcher needs the Python package {exc.name!r} (pip install -e .)"
    try:
        engine = docker.from_env(timeout=5)
        engine.ping()
    except Exception as exc:  # no socket, permission denied, engine down: all say the same to a user
        host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"no Docker engine answers at {host} ({first[:120]}); start dockerd (see .ci/docker-engine)"
    return ""


def ensure_reaper() -> None:
    """Start this process's reaper (once) and wait until it watches the engine."""
    global _reaper
    with _lock:
        if _reaper is not None and _reaper.poll() is None:
            return
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.engine.reaper", SESSION_LABEL, SESSION],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C for the run's process group must not end it first
        )
        assert proc.stdout is not None
        ready = _read_line(proc.stdout, REAPER_READY_S)
        if ready != b"ready\n":
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the container reaper did not start (it said {ready!r})")
        proc.stdout.close()
        _reaper = proc  # its stdin stays open for this process's life; closing it is the signal


def _read_line(stream: Any, timeout: float) -> bytes:
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0] if out else b""


def labels(case: str) -> dict[str, str]:
    return {SESSION_LABEL: SESSION, CASE_LABEL: case[:200]}
