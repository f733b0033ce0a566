"""A simulated NVML with pynvml's surface (see issue 3)."""
