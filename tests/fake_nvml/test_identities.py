from __future__ import annotations

import re

from fake_nvml import FakeNVML, identities


def test_identities_are_deterministic_for_a_seed_and_differ_between_seeds() -> None:
    a = [g.uuid for g in FakeNVML.from_spec("4xH100", seed=7).gpus]
    b = [g.uuid for g in FakeNVML.from_spec("4xH100", seed=7).gpus]
    c = [g.uuid for g in FakeNVML.from_spec("4xH100", seed=8).gpus]
    assert a == b and a != c and len(set(a)) == 4


def test_identity_formats_match_nvml() -> None:
    gpu = FakeNVML.from_spec("1xA100-80GB").gpus[0]
    assert re.fullmatch(r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", gpu.uuid)
    assert re.fullmatch(r"\d{13}", gpu.serial)
    assert re.fullmatch(r"00000000:[0-9A-F]{2}:00\.0", gpu.pci_bus_id)
    assert re.fullmatch(r"MIG-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", identities.mig_uuid(0, 0, 1, 0))


def test_adding_a_gpu_keeps_the_others_identities() -> None:
    four = FakeNVML.from_spec("4xH100").gpus
    eight = FakeNVML.from_spec("8xH100").gpus
    assert [g.uuid for g in four] == [g.uuid for g in eight[:4]]


def test_pci_buses_rise_with_the_index_and_split_by_socket() -> None:
    gpus = FakeNVML.from_spec("8xH100").gpus
    buses = [int(g.pci_bus_id.split(":")[1], 16) for g in gpus]
    assert buses == sorted(buses) and len(set(buses)) == 8
    assert all(b < 0x80 for b in buses[:4]) and all(b >= 0x80 for b in buses[4:])


def test_legacy_bus_id_has_a_four_digit_domain() -> None:
    assert identities.legacy_bus_id("00000000:3B:00.0") == "0000:3B:00.0"
    assert identities.normalise_bus_id("0000:3b:00.0") == "00000000:3B:00.0"
