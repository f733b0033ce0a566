from __future__ import annotations

from pathlib import Path

import pytest

from fake_nvml import FakeNVML, ProfileError
from fake_nvml.profile import TooManyGpus, load


def test_shorthand_mixes_products_in_order() -> None:
    node = FakeNVML.from_spec("2xH100+1xT4")
    assert [g.name for g in node.gpus] == ["NVIDIA H100 80GB HBM3"] * 2 + ["Tesla T4"]


def test_unknown_product_in_a_shorthand_names_the_known_products() -> None:
    with pytest.raises(ProfileError, match=r"shorthand '4xH1000'.*Known products: .*H100"):
        FakeNVML.from_spec("4xH1000")


def test_dict_profile_sets_identities_mig_and_topology() -> None:
    node = FakeNVML.from_spec(
        {
            "seed": 3,
            "gpus": [
                {
                    "product": "A100-80GB",
                    "uuid": "GPU-11111111-2222-3333-4444-555555555555",
                    "mig": {"enabled": True, "devices": ["3g.40gb", {"profile": "1g.10gb", "gi": 9}]},
                },
                {"product": "A100-80GB", "pci_bus_id": "0000:c1:00.0"},
            ],
            "topology": {"numa": [1, 0], "nvlink": "none"},
        }
    )
    first, second = node.gpus
    assert first.uuid == "GPU-11111111-2222-3333-4444-555555555555"
    assert [(m.profile, m.gi) for m in first.mig_devices] == [("3g.40gb", 1), ("1g.10gb", 9)]
    assert second.pci_bus_id == "00000000:C1:00.0"
    assert (first.numa_node, second.numa_node) == (1, 0)


def test_yaml_errors_point_at_the_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "node.yaml"
    path.write_text("seed: 1\ngpus:\n  - product: H100\n  - product: H100\n    mig: [9g.99gb]\n")
    with pytest.raises(
        ProfileError, match=r"node\.yaml:5: gpus\[1\]\.mig\.devices\[0\]\.profile: .*1g\.10gb"
    ):
        FakeNVML.from_spec(path)


def test_unknown_keys_are_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "node.yaml"
    path.write_text("gpus:\n  - product: H100\n    colour: green\n")
    with pytest.raises(
        ProfileError,
        match=r"node\.yaml:3: gpus\[0\]\.colour: unknown key; .*takes .*count, memory_used_mib, mig",
    ):
        FakeNVML.from_spec(path)


def test_mig_on_a_product_without_mig_is_refused() -> None:
    with pytest.raises(ProfileError, match="Tesla T4 does not support MIG"):
        FakeNVML.from_spec({"gpus": [{"product": "T4", "mig": ["1g.5gb"]}]})


def test_a_layout_that_does_not_fit_is_refused_naming_the_profiles() -> None:
    with pytest.raises(ValueError, match=r"4g\.40gb \+ 4g\.40gb|at most 1 x 4g\.40gb"):
        FakeNVML.from_spec({"gpus": [{"product": "H100", "mig": ["4g.40gb", "4g.40gb"]}]})
    with pytest.raises(ValueError, match="do not fit together"):
        FakeNVML.from_spec({"gpus": [{"product": "H100", "mig": ["4g.40gb", "3g.40gb", "1g.10gb"]}]})


def test_a_missing_profile_file_says_what_to_give() -> None:
    with pytest.raises(ProfileError, match="does not exist; give a shorthand"):
        FakeNVML.from_spec("/nonexistent/node.yaml")


def test_nvlink_pairs_must_name_two_gpus_of_the_node() -> None:
    with pytest.raises(ProfileError, match=r"topology\.nvlink\[0\]: .*0\.\.1"):
        FakeNVML.from_spec({"gpus": [{"product": "H100", "count": 2}], "topology": {"nvlink": [[0, 5]]}})


def test_vm_flag_makes_topology_unsupported_and_puts_gpus_on_bus_zero() -> None:
    node = FakeNVML.from_spec({"vm": True, "gpus": ["H100"]})
    assert node.gpus[0].pci_bus_id == "00000000:00:06.0"
    assert node.gpus[0].numa_node is None


def test_a_node_over_max_gpus_is_refused_before_any_gpu_is_built() -> None:
    # Built first, 100000 GPUs would be 5 * 10^9 NVLink pairs: a MemoryError, not this error.
    with pytest.raises(TooManyGpus, match="100000 GPUs is more than the 256") as info:
        load("100000xH100")
    assert (info.value.gpus, info.value.limit) == (100000, 256)
    with pytest.raises(TooManyGpus, match="3 GPUs is more than the 2"):
        load({"gpus": [{"product": "H100", "count": 2}, "T4"]}, max_gpus=2)
    assert len(load("8xH100", max_gpus=8).gpus) == 8
