"""The Docker engine as the harness uses it: whether one answers, the reaper, what a container runs.

- :mod:`harness.engine.access`: the engine's client, why it is unavailable, the session's labels
  and its reaper (:mod:`harness.engine.reaper`).
- :mod:`harness.engine.spec`: :class:`~harness.engine.spec.ContainerSpec`, a container as a
  launcher runs it and as a manifest describes it.
"""
