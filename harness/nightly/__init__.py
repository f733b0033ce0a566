"""The nightly run on real GPU nodes: the smoke check, one node's run, one Job per node, the merge.

``dp-harness nightly run|preflight|jobs|merge`` (``harness.cli.nightly``); the harness image's
entrypoint (``harness.image.recipes.HARNESS``); the manifests in ``deploy/``; ``docs/nightly.md``.
"""
