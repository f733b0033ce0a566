"""Condition types for ``expect:`` and ``never:``; each class registers itself (see model/registry)."""
