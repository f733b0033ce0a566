"""The Docker engine as the harness uses it: whether one answers, and the reaper.

:mod:`harness.engine.access` has the engine's client, why it is unavailable, the session's
labels and its reaper (:mod:`harness.engine.reaper`).
"""
