"""The kubelet device plugin wire API, shared by the plugin and the fake kubelet.

This package imports nothing else of ours (checked by import-linter).
"""
