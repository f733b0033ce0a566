"""Plugin profiles: the shipped ones load, extends merges claims, bad files are located errors."""

from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.features import FEATURES, is_ours
from harness.profiles import TEMPLATE_KEYS, default_profile, load_profile, shipped


def test_the_shipped_profiles_load_and_claim_only_known_features() -> None:
    assert {"nvidia", "ours", "generic", "generic-device-plugin"} <= set(shipped())
    for name in shipped():
        profile = load_profile(name)
        assert profile.name == name
        assert set(profile.features) <= set(FEATURES)


def test_ours_is_nvidia_plus_our_extensions_and_nvidia_claims_none_of_ours() -> None:
    nvidia, ours = load_profile("nvidia"), load_profile("ours")
    assert set(ours.features) - set(nvidia.features) == {f for f in FEATURES if is_ours(f)}
    assert not any(is_ours(f) for f in nvidia.features)
    assert (ours.resource, ours.endpoint, ours.visible_devices) == (
        nvidia.resource,
        nvidia.endpoint,
        nvidia.visible_devices,
    )


def test_a_command_line_plugin_defaults_to_nvidias_profile_and_ours_in_process_to_ours() -> None:
    assert default_profile(None) == "ours"
    assert default_profile("/bin/plugin") == "nvidia"


def test_extends_overrides_given_keys_adds_features_and_drops_some(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nextends: nvidia\nresource: example.com/gpu\nfeatures: [our-log-lines]\n"
        "drop_features: [cdi, time-slicing]\nbounds: {reregister: 9s}\n",
        encoding="utf-8",
    )
    mine = load_profile(str(path))
    assert mine.resource == "example.com/gpu"
    assert mine.endpoint == "nvidia-gpu.sock"  # not given: the base's
    assert (
        "our-log-lines" in mine.features
        and "cdi" not in mine.features
        and "time-slicing" not in mine.features
    )
    assert (mine.bound("reregister"), mine.bound("register")) == (9.0, 5.0)
    assert mine.missing(["cdi", "health-xid"]) == ["cdi"]


def test_an_unknown_feature_is_an_error_at_its_line_with_a_suggestion(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nfeatures:\n  - health-xid\n  - health-xdi\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_profile(str(path))
    assert f"{path}:4:5: unknown feature 'health-xdi'" in str(info.value)
    assert "did you mean 'health-xid'" in str(info.value)


def test_an_unknown_key_and_an_unknown_shipped_name_say_what_exists(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nresouce: x.com/gpu\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="did you mean 'resource'"):
        load_profile(str(path))
    with pytest.raises(ScenarioError, match="did you mean 'nvidia'"):
        load_profile("nvidai")


def test_a_claim_that_needs_a_value_without_it_is_refused(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nfeatures: [fixed-endpoint]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="claims fixed-endpoint but gives no 'endpoint'"):
        load_profile(str(path))
    path.write_text("name: bad\ndevice_ids: opaque\nfeatures: [gpu-ids]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="claims gpu-ids but says device_ids: opaque"):
        load_profile(str(path))


def test_every_profile_template_key_has_a_value_in_a_full_profile() -> None:
    nvidia = load_profile("nvidia")
    for key in TEMPLATE_KEYS:
        assert nvidia.value(key) is not None, key
