"""The kubelet's version and extended-resource-name rules, without a socket."""

from __future__ import annotations

import pytest

from fake_kubelet import is_extended_resource_name, registration_error


@pytest.mark.parametrize(
    "name",
    [
        "nvidia.com/gpu",
        "nvidia.com/mig-1g.10gb",
        "nvidia.com/mig-1g.10gb.me",
        "example.com/GPU_big",
        "a.b-c.d/x",
        "nvidia.com/" + "g" * 63,
    ],
)
def test_extended_resource_names_are_accepted(name):
    assert is_extended_resource_name(name)
    assert registration_error("v1beta1", name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("gpu", "no slash: a native resource"),
        ("kubernetes.io/gpu", "kubernetes.io/ is reserved"),
        ("gpu.kubernetes.io/x", "kubernetes.io/ anywhere is reserved"),
        ("requests.nvidia.com/gpu", "a quota name"),
        ("Nvidia.com/gpu", "prefix must be lowercase"),
        ("nvidia.com/", "empty name"),
        ("nvidia.com/gpu-", "name must end alphanumeric"),
        ("nvidia..com/gpu", "empty DNS label"),
        ("a/b/c", "two slashes"),
        ("nvidia.com/" + "g" * 64, "name longer than 63"),
        ("x" * 250 + ".com/gpu", "prefix longer than 253 once quota-prefixed"),
    ],
)
def test_other_names_are_rejected(name, why):
    assert not is_extended_resource_name(name), why
    assert registration_error("v1beta1", name) == f'the ResourceName "{name}" is invalid'


@pytest.mark.parametrize("version", ["v1alpha", "v1beta2", "V1beta1", "v1beta1 ", ""])
def test_only_the_exact_supported_version_is_accepted(version):
    assert registration_error(version, "nvidia.com/gpu") == (
        f'requested API version "{version}" is not supported by kubelet. Supported version is ["v1beta1"]'
    )


def test_the_version_is_checked_before_the_name():
    assert registration_error("v2", "gpu").startswith("requested API version")
