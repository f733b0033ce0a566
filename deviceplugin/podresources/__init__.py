"""Kubelet pod resources API (the ``podresources`` group); version packages below."""
