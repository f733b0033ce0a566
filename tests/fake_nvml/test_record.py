"""Record through pynvml's API and replay: the replayed node reads back the same."""

from __future__ import annotations

import os
from pathlib import Path

import pynvml
import pytest
import yaml

from fake_nvml import FakeNVML, record_node
from fake_nvml.__main__ import main

H100_VM = Path(__file__).parents[2] / "scenarios" / "_nodes" / "h100-80gb-hbm3-vm.yaml"  # shipped


@pytest.mark.parametrize(
    "spec",
    [
        "8xH100",
        "2xT4",
        "1xH200+1xL4",
        {
            "gpus": [
                {"product": "A100-80GB", "mig": ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]},
                {"product": "A30", "mig": ["2g.12gb", "1g.6gb"]},
            ],
            "topology": {"numa": [0, 1], "nvlink": "none"},
        },
    ],
)
def test_a_recorded_node_replays_to_an_equal_node(spec) -> None:
    original = FakeNVML.from_spec(spec, seed=5)
    recorded = record_node(original)
    replayed = FakeNVML.from_spec(recorded)
    assert replayed.gpus == original.gpus
    assert record_node(replayed) == recorded


def test_record_cli_writes_a_profile_that_from_spec_reads(tmp_path: Path, sockdir: str) -> None:
    node = FakeNVML.from_spec("2xA100-80GB", seed=9)
    path = os.path.join(sockdir, "n.sock")
    with node.serve(path):
        out = tmp_path / "node.yaml"
        assert main(["record", str(out), "--connect", path]) == 0
    assert FakeNVML.from_spec(out).gpus == node.gpus


def test_the_h100_vm_fixture_reads_back_as_section_f_describes() -> None:
    node = FakeNVML.from_spec(H100_VM)
    node.nvmlInit()
    h = node.nvmlDeviceGetHandleByIndex(0)
    assert node.nvmlDeviceGetName(h) == "NVIDIA H100 80GB HBM3"
    assert (
        node.nvmlSystemGetNVMLVersion() == "13.580.159.04" and node.nvmlSystemGetCudaDriverVersion() == 13000
    )
    assert node.nvmlDeviceGetMemoryInfo(h).total == 85520809984
    pci = node.nvmlDeviceGetPciInfo(h)
    assert (pci.busId, pci.busIdLegacy, pci.pciDeviceId) == ("00000000:00:06.0", "0000:00:06.0", 590352606)
    assert (node.nvmlDeviceGetMigMode(h), node.nvmlDeviceGetMaxMigDeviceCount(h)) == ([0, 0], 0)
    profiles = {}
    for pid in range(8):
        try:
            info = node.nvmlDeviceGetGpuInstanceProfileInfo(h, pid)
            profiles[pid] = (info.name, info.instanceCount, info.memorySizeMB)
        except pynvml.NVMLError_NotSupported:
            profiles[pid] = "NotSupported"
    assert profiles == {
        0: ("MIG 1g.10gb", 7, 9984),
        1: ("MIG 2g.20gb", 3, 20096),
        2: ("MIG 3g.40gb", 2, 40448),
        3: ("MIG 4g.40gb", 1, 40448),
        4: ("MIG 7g.80gb", 1, 81152),
        5: "NotSupported",
        6: "NotSupported",
        7: ("MIG 1g.10gb+me", 1, 9984),
    }
    for call in (
        lambda: node.nvmlDeviceGetNumaNodeId(h),
        lambda: node.nvmlDeviceGetNvLinkState(h, 0),
        lambda: node.nvmlDeviceGetTopologyCommonAncestor(h, h),
    ):
        with pytest.raises(pynvml.NVMLError_NotSupported):
            call()
    assert node.nvmlDeviceGetSupportedEventTypes(h) == 65439
    event_set = node.nvmlEventSetCreate()
    node.nvmlDeviceRegisterEvents(h, 0x8 | 0x2 | 0x1, event_set)
    with pytest.raises(pynvml.NVMLError_Timeout) as caught:
        node.nvmlEventSetWait(event_set, 0)
    assert caught.value.value == 10


def test_recording_the_h100_vm_gives_back_the_fixture() -> None:
    fixture = yaml.safe_load(H100_VM.read_text())
    recorded = record_node(FakeNVML.from_spec(H100_VM))
    assert recorded["vm"] is True and "topology" not in recorded
    assert recorded["gpus"] == fixture["gpus"]
    product = recorded["products"]["NVIDIA H100 80GB HBM3"]
    expected = fixture["products"]["NVIDIA H100 80GB HBM3"]
    assert {k: product[k] for k in expected} == expected  # plus pci_subsystem_id, which F does not give


def test_an_anonymized_recording_hides_identities_and_keeps_what_nvml_reported(
    tmp_path: Path, sockdir: str
) -> None:
    original = FakeNVML.from_spec(
        {"gpus": [{"product": "A100-80GB", "mig": ["3g.40gb", "3g.40gb"]}, {"product": "A100-80GB"}]}, seed=3
    )
    out = tmp_path / "node.yaml"
    recorded = record_node(original)
    from fake_nvml.record import anonymize

    hidden = anonymize(recorded)
    assert hidden == anonymize(recorded)  # stable: the same placeholders every time
    real_ids = {g.uuid for g in original.gpus} | {m.uuid for g in original.gpus for m in g.mig_devices}
    assert not real_ids & {g["uuid"] for g in hidden["gpus"]}
    assert [len(g["serial"]) for g in hidden["gpus"]] == [len(g["serial"]) for g in recorded["gpus"]]
    assert {g["serial"] for g in hidden["gpus"]}.isdisjoint({g["serial"] for g in recorded["gpus"]})
    strip = lambda p: [{k: v for k, v in g.items() if k not in ("uuid", "serial", "mig")} for g in p["gpus"]]  # noqa: E731
    assert strip(hidden) == strip(recorded) and hidden["products"] == recorded["products"]
    replayed = FakeNVML.from_spec(hidden)
    assert [g.uuid for g in replayed.gpus] == [g["uuid"] for g in hidden["gpus"]]
    assert replayed.gpus[0].mig_devices[0].uuid.startswith("MIG-") and replayed.gpus[0].mig_enabled
    path = os.path.join(sockdir, "n.sock")
    with original.serve(path):
        assert main(["record", str(out), "--connect", path, "--anonymize"]) == 0
    text = out.read_text()
    assert "anonymized" in text.splitlines()[1] and not any(uuid in text for uuid in real_ids)
