"""Step types, one small module per family; each class registers itself (see model/registry)."""
