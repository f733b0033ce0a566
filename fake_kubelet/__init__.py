"""The kubelet device manager, in-process (see issue 4)."""
