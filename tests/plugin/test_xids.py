"""DP_DISABLE_HEALTHCHECKS / DP_ENABLE_HEALTHCHECKS follow NVIDIA's v0.18+ token semantics."""

from __future__ import annotations

import pytest

from plugin.xids import DEFAULT_IGNORED_XIDS, health_checks_from_env


def test_application_xids_are_ignored_by_default_and_others_are_critical() -> None:
    checks = health_checks_from_env({})
    assert DEFAULT_IGNORED_XIDS == {13, 31, 43, 45, 68, 109}
    assert not any(checks.is_critical(x) for x in DEFAULT_IGNORED_XIDS)
    assert all(checks.is_critical(x) for x in (48, 63, 64, 74, 79, 94, 95, 119, 999))


@pytest.mark.parametrize("value", ["all", "xids", "ALL", "48, all", "xids,79"])
def test_all_or_xids_token_disables_health_checks(value: str) -> None:
    assert health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": value}).disabled


def test_substring_xids_no_longer_disables_since_v018() -> None:
    assert not health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "noxids"}).disabled


def test_numbers_add_ignored_xids_and_junk_is_ignored() -> None:
    checks = health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "79, junk,48"})
    assert not checks.disabled
    assert not checks.is_critical(79) and not checks.is_critical(48)
    assert checks.is_critical(94)


def test_enable_list_overrides_default_and_disabled_xids() -> None:
    checks = health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "79", "DP_ENABLE_HEALTHCHECKS": "79,13"})
    assert checks.is_critical(79) and checks.is_critical(13)
    assert not checks.is_critical(31)


def test_enable_all_makes_application_xids_critical() -> None:
    checks = health_checks_from_env({"DP_ENABLE_HEALTHCHECKS": "all"})
    assert all(checks.is_critical(x) for x in DEFAULT_IGNORED_XIDS)


def test_disable_all_wins_over_an_enable_list_as_in_nvidias_code() -> None:
    assert health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "all", "DP_ENABLE_HEALTHCHECKS": "48"}).disabled


@pytest.mark.parametrize("enable", ["all", "xids", "XIDS"])
def test_enabling_every_xid_undoes_disable_all_as_in_nvidias_code(enable: str) -> None:
    checks = health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "all", "DP_ENABLE_HEALTHCHECKS": enable})
    assert not checks.disabled
    assert all(checks.is_critical(x) for x in (13, 31, 48, 79))


def test_xids_in_the_enable_list_means_every_xid() -> None:
    assert health_checks_from_env({"DP_ENABLE_HEALTHCHECKS": "xids"}).is_critical(31)


def test_a_literal_zero_means_every_xid_because_nvidia_stores_all_as_xid_0() -> None:
    assert health_checks_from_env({"DP_DISABLE_HEALTHCHECKS": "0"}).disabled
    assert health_checks_from_env({"DP_ENABLE_HEALTHCHECKS": "0"}).is_critical(13)
