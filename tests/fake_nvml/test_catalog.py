from __future__ import annotations

import pytest

from fake_nvml import product, products


@pytest.mark.parametrize(
    ("alias", "name", "memory_mib", "cc", "pci_id"),
    [
        ("H100", "NVIDIA H100 80GB HBM3", 81559, (9, 0), 0x233010DE),
        ("A100-80GB", "NVIDIA A100-SXM4-80GB", 81920, (8, 0), 0x20B210DE),
        ("a100", "NVIDIA A100-SXM4-40GB", 40960, (8, 0), 0x20B010DE),
        ("A30", "NVIDIA A30", 24576, (8, 0), 0x20B710DE),
        ("t4", "Tesla T4", 15360, (7, 5), 0x1EB810DE),
        ("NVIDIA H200", "NVIDIA H200", 143771, (9, 0), 0x233510DE),
    ],
)
def test_products_carry_the_names_and_numbers_nvml_reports(alias, name, memory_mib, cc, pci_id) -> None:
    p = product(alias)
    assert (p.name, p.memory_mib, p.cuda_cc, p.pci_device_id) == (name, memory_mib, cc, pci_id)


def test_old_driver_names_without_the_nvidia_prefix_resolve() -> None:
    assert product("A100-SXM4-40GB").key == "A100-40GB"


def test_unknown_product_error_names_the_known_ones_and_a_close_match() -> None:
    with pytest.raises(
        ValueError, match=r"unknown GPU product 'H10'.*Did you mean H100.*Known products:.*T4"
    ):
        product("H10")


def test_mig_profiles_follow_the_facts_counts_and_memory() -> None:
    a100 = product("A100-40GB")
    assert {p.name: (p.instance_count, p.memory_mib) for p in a100.mig_profiles} == {
        "1g.5gb": (7, 4864),
        "1g.5gb+me": (1, 4864),
        "1g.10gb": (4, 9856),
        "2g.10gb": (3, 9856),
        "3g.20gb": (2, 19968),
        "4g.20gb": (1, 19968),
        "7g.40gb": (1, 40192),
    }
    assert product("A30").max_mig_devices == 4
    assert not product("T4").mig_capable and not product("L4").mig_profiles


def test_every_mig_capable_product_has_a_whole_gpu_profile_that_fits_its_memory() -> None:
    for p in products():
        if p.mig_capable:
            whole = max(p.mig_profiles, key=lambda m: m.slices)
            assert whole.memory_mib <= p.memory_mib, p.name
            assert p.mig_profile(whole.name) is whole
