"""Kubernetes manifests, read field by field: the plugin container of a DaemonSet, and pods.

python -m harness.manifests explain FILE    # how the harness reads each field of a manifest
"""
