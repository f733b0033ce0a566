"""The kubelet's checks on a RegisterRequest: API version and extended resource name.

Kept apart from the server so the rules can be tested (and reused by the harness's
scenario validator) without a socket. The messages are the kubelet's, word for word,
because plugins and operators grep for them.
"""

from __future__ import annotations

import json
import re

from deviceplugin.v1beta1 import SUPPORTED_VERSIONS

# k8s.io/apimachinery validation: a DNS-1123 subdomain and a qualified name's name part.
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
_QUALIFIED_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN_MAX = 253
_QUALIFIED_NAME_MAX = 63

# The core API's spellings (k8s.io/kubernetes/pkg/apis/core).
_NATIVE_NAMESPACE_PREFIX = "kubernetes.io/"
_REQUESTS_PREFIX = "requests."


def go_quote(value: str) -> str:
    """Quote a string roughly as Go's ``%q`` does (close enough for messages)."""
    return json.dumps(value, ensure_ascii=False)


def unsupported_version_message(version: str) -> str:
    """The kubelet's error for a RegisterRequest whose version it does not speak."""
    supported = "[" + " ".join(go_quote(v) for v in SUPPORTED_VERSIONS) + "]"
    return (
        f"requested API version {go_quote(version)} is not supported by kubelet. "
        f"Supported version is {supported}"
    )


def invalid_resource_name_message(name: str) -> str:
    return f"the ResourceName {go_quote(name)} is invalid"


def is_supported_version(version: str) -> bool:
    """Exact string match against the kubelet's supported versions (no semver games)."""
    return version in SUPPORTED_VERSIONS


def is_qualified_name(value: str) -> bool:
    """``validation.IsQualifiedName``: ``[prefix/]name`` with a DNS-1123 prefix and a 63-char name."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix or len(prefix) > _DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.match(prefix):
            return False
    else:
        return False
    return 0 < len(name) <= _QUALIFIED_NAME_MAX and bool(_QUALIFIED_NAME_PART.match(name))


def is_extended_resource_name(name: str) -> bool:
    """``IsExtendedResourceName``: not native, not a quota name, and valid once quota-prefixed.

    Native means "no slash" or "contains kubernetes.io/" anywhere in the name.
    """
    if "/" not in name or _NATIVE_NAMESPACE_PREFIX in name:
        return False
    if name.startswith(_REQUESTS_PREFIX):
        return False
    return is_qualified_name(_REQUESTS_PREFIX + name)


def registration_error(version: str, resource_name: str) -> str | None:
    """The kubelet's message for a RegisterRequest it rejects before dialling, else None."""
    if not is_supported_version(version):
        return unsupported_version_message(version)
    if not is_extended_resource_name(resource_name):
        return invalid_resource_name_message(resource_name)
    return None
