"""Kubelet plugin registration API (the plugin watcher's); version packages below."""
