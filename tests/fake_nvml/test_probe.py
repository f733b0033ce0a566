"""tools/nvml_probe.py, written only against pynvml, runs unchanged on simulated nodes."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from fake_nvml import FakeNVML

_spec = importlib.util.spec_from_file_location(
    "nvml_probe", Path(__file__).parents[2] / "tools" / "nvml_probe.py"
)
nvml_probe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nvml_probe)


def test_the_probe_reads_every_property_of_a_simulated_node() -> None:
    node = FakeNVML.from_spec("4xH100")
    node.enable_mig(1, ["3g.40gb", "3g.40gb"])
    result = nvml_probe.probe(node, wait_ms=0)
    assert result["count"] == 4
    first, second = result["devices"][:2]
    assert first["name"] == "NVIDIA H100 80GB HBM3" and first["uuid"] == node.gpus[0].uuid
    assert first["mig_mode"] == [0, 0] and first["numa_node"] == 0 and first["cuda_cc"] == [9, 0]
    assert first["mig_profiles"][0]["name"] == "MIG 1g.10gb"
    assert [m["name"] for m in second["mig_devices"]] == ["NVIDIA H100 80GB HBM3 MIG 3g.40gb"] * 2
    assert second["mig_devices"][0]["parent_uuid"] == node.gpus[1].uuid
    assert result["bad_index"] == "NVMLError_InvalidArgument"
    assert result["unknown_uuid"] == "NVMLError_NotFound"
    assert result["register"] == [None] * 4 and result["wait"] == "NVMLError_Timeout"


def test_the_probe_reports_init_failure_as_pynvml_would() -> None:
    node = FakeNVML.from_spec("1xT4")
    node.fail_init("library_not_found")
    assert nvml_probe.probe(node) == {"init": "NVMLError_LibraryNotFound", "code": 12}


def test_the_probe_gives_the_same_answers_through_the_socket(sockdir: str) -> None:
    node = FakeNVML.from_spec({"vm": True, "gpus": ["H100"]})
    path = os.path.join(sockdir, "n.sock")
    with node.serve(path):
        remote = nvml_probe.probe(FakeNVML.connect(path), wait_ms=0)
    local = nvml_probe.probe(node, wait_ms=0)
    for result in (remote, local):
        result.pop("init_ms"), result.pop("wait_ms")
    assert remote == local
    assert local["devices"][0]["numa_node"] == "NVMLError_NotSupported"
