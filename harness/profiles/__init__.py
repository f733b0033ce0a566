"""Plugin profiles: what black-box scenarios expect of the plugin under test (docs/conformance.md).

``load_profile("nvidia")`` reads a shipped profile, ``load_profile("my-plugin.yaml")`` a file.
Without ``--plugin-profile``, our in-process plugin runs under ``ours`` and a ``--plugin-cmd``
under ``nvidia``.
"""

from harness.profiles.model import BOUNDS, TEMPLATE_KEYS, Bounds, Profile, load_profile, shipped


def default_profile(external: str | None) -> str:
    """The profile a run uses when none is named: ours in-process, NVIDIA's for a plugin given as a
    command, an image or a manifest."""
    return "nvidia" if external else "ours"


__all__ = [
    "BOUNDS",
    "TEMPLATE_KEYS",
    "Bounds",
    "Profile",
    "default_profile",
    "load_profile",
    "shipped",
]
