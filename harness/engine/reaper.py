"""Removes a harness session's containers when the session's process goes away, however it goes.

Usage: ``python -m harness.engine.reaper LABEL SESSION`` with a pipe on stdin (see
:mod:`harness.engine.access`). It says ``ready`` once it reaches the engine, then blocks on
stdin. End of file means the harness process is gone (a normal exit, Ctrl-C, SIGTERM, SIGKILL),
so every container labelled ``LABEL=SESSION`` is removed, anonymous volumes included, and the
reaper exits. It ignores SIGINT and SIGHUP, which are meant for the run it watches.
"""

from __future__ import annotations

import signal
import sys


def reap(label: str, session: str) -> int:
    """Remove the session's containers; how many there were."""
    import docker

    engine = docker.from_env(timeout=60)
    left = engine.containers.list(all=True, filters={"label": f"{label}={session}"})
    for container in left:
        try:
            container.remove(force=True, v=True)
        except docker.errors.NotFound:
            pass  # removed by its launcher in the meantime
    return len(left)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m harness.engine.reaper LABEL SESSION", file=sys.stderr)
        return 2
    label, session = argv
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    import docker

    docker.from_env(timeout=10).ping()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.buffer.read()  # until the harness process closes its end, by exiting or dying
    try:
        reap(label, session)
    except Exception as exc:  # the engine went away first: nothing left to remove there
        print(f"reaper: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
