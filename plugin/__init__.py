"""Our GPU device plugin (see issue 5)."""
