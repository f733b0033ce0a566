"""The CDI spec files are NVIDIA's classes and names, and valid against the CDI spec schema."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from plugin import cdi
from plugin.errors import InitError
from plugin.imex import Channel, get_channels
from plugin.mig import gpu_device, mig_device
from tests.plugin.builders import gpu

SCHEMA_DIR = Path(__file__).parent / "cdi_schema"


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMA_DIR / "schema.json").read_text())
    defs = Resource.from_contents(
        json.loads((SCHEMA_DIR / "defs.json").read_text()), default_specification=DRAFT7
    )
    return jsonschema.Draft7Validator(schema, registry=Registry().with_resource("defs.json", defs))


def devroot(tmp_path: Path, *nodes: str) -> Path:
    for node in nodes:
        path = tmp_path / "dev" / node
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return tmp_path


def test_gpu_spec_names_each_device_by_id_strategy_and_validates(tmp_path: Path) -> None:
    root = devroot(tmp_path / "ctr", "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "gdrdrv")
    options = cdi.CdiOptions(
        root=str(tmp_path / "cdi"),
        dev_root=str(root),
        host_dev_root="/run/nvidia/driver",
        id_strategy="index",
        modes=("gdrcopy", "mofed"),
        driver_version="580.159.04",
    )
    devices = [gpu_device(gpu(0)), gpu_device(gpu(1))]
    extra = cdi.write_specs(options, devices, [], skipped := [])
    assert extra == ["k8s.device-plugin.nvidia.com/gdrcopy=all"]  # no /dev/infiniband: mofed is dropped
    assert skipped == ["mofed"]
    names = sorted(os.listdir(tmp_path / "cdi"))
    assert names == ["k8s.device-plugin.nvidia.com-gdrcopy.json", "k8s.device-plugin.nvidia.com-gpu.json"]
    spec = json.loads((tmp_path / "cdi" / "k8s.device-plugin.nvidia.com-gpu.json").read_text())
    validator().validate(spec)
    assert spec["kind"] == "k8s.device-plugin.nvidia.com/gpu"
    assert spec["cdiVersion"] == "0.5.0"  # device names that start with a digit, hostPath
    assert [d["name"] for d in spec["devices"]] == ["0", "1", "all"]
    assert spec["devices"][1]["containerEdits"]["deviceNodes"] == [
        {"path": "/dev/nvidia1", "hostPath": "/run/nvidia/driver/dev/nvidia1"}
    ]
    assert "NVIDIA_VISIBLE_DEVICES=void" in spec["containerEdits"]["env"]
    hooks = spec["containerEdits"]["hooks"]
    assert [h["args"][:3] for h in hooks] == [
        ["nvidia-ctk", "hook", "enable-cuda-compat"],
        ["nvidia-ctk", "hook", "disable-device-node-modification"],
    ]
    validator().validate(
        json.loads((tmp_path / "cdi" / "k8s.device-plugin.nvidia.com-gdrcopy.json").read_text())
    )


@pytest.mark.parametrize(
    ("disabled", "left"),
    [((), 2), (("enable-cuda-compat",), 1), (("all",), 0)],
)
def test_disabled_hooks_are_left_out_and_the_hook_path_is_used(
    tmp_path: Path, disabled: tuple, left: int
) -> None:
    root = devroot(tmp_path / "ctr", "nvidia0")
    options = cdi.CdiOptions(
        root=str(tmp_path / "cdi"),
        dev_root=str(root),
        hook_path="/opt/bin/nvidia-cdi-hook",
        disabled_hooks=disabled,
        driver_version="580",
    )
    cdi.write_specs(options, [gpu_device(gpu(0))], [], [])
    spec = json.loads((tmp_path / "cdi" / "k8s.device-plugin.nvidia.com-gpu.json").read_text())
    hooks = spec["containerEdits"].get("hooks", [])
    assert len(hooks) == left
    assert all(h["path"] == "/opt/bin/nvidia-cdi-hook" and h["args"][0] == "nvidia-cdi-hook" for h in hooks)


def test_coherent_annotations_feature_flag_annotates_devices(tmp_path: Path) -> None:
    root = devroot(tmp_path / "ctr", "nvidia0", "nvidia1")
    options = cdi.CdiOptions(
        root=str(tmp_path / "cdi"), dev_root=str(root), feature_flags=("enable-coherent-annotations",)
    )
    migs = gpu(1, mig=[("1g.10gb", 1, 0)])
    cdi.write_specs(options, [gpu_device(gpu(0)), mig_device(migs, migs.migs[0])], [], [])
    spec = json.loads((tmp_path / "cdi" / "k8s.device-plugin.nvidia.com-gpu.json").read_text())
    validator().validate(spec)
    assert spec["cdiVersion"] == "0.6.0"
    assert spec["devices"][0]["annotations"] == {"gpu.nvidia.com/coherent": "false"}
    assert [d["name"] for d in spec["devices"]] == ["GPU-0", "MIG-1-0", "all"]


def test_imex_channel_spec_and_channels_found_as_character_devices(tmp_path: Path) -> None:
    channels_dir = tmp_path / "ctr" / "dev" / "nvidia-caps-imex-channels"
    channels_dir.mkdir(parents=True)
    (channels_dir / "channel0").symlink_to("/dev/null")  # a character device, as the driver's node
    warnings: list[str] = []
    found = get_channels((0,), True, str(tmp_path / "ctr"), warnings)
    assert found == [Channel("0", "/dev/nvidia-caps-imex-channels/channel0", str(channels_dir / "channel0"))]
    (tmp_path / "cdi").mkdir()
    cdi.write_specs(cdi.CdiOptions(root=str(tmp_path / "cdi"), dev_root=str(tmp_path / "ctr")), [], found, [])
    spec = json.loads((tmp_path / "cdi" / "k8s.device-plugin.nvidia.com-imex-channel.json").read_text())
    validator().validate(spec)
    assert spec["devices"] == [
        {
            "name": "0",
            "containerEdits": {
                "deviceNodes": [
                    {
                        "path": "/dev/nvidia-caps-imex-channels/channel0",
                        "hostPath": str(channels_dir / "channel0"),
                    }
                ]
            },
        }
    ]


def test_a_missing_or_regular_file_channel_is_skipped_or_fatal_when_required(tmp_path: Path) -> None:
    warnings: list[str] = []
    assert get_channels((0,), False, str(tmp_path), warnings) == []
    assert warnings and warnings[0].startswith("Ignoring requested IMEX channel channel0")
    (tmp_path / "dev" / "nvidia-caps-imex-channels").mkdir(parents=True)
    (tmp_path / "dev" / "nvidia-caps-imex-channels" / "channel0").touch()
    with pytest.raises(
        InitError, match=r"is not a character device.*requested IMEX channel channel0 does not exist"
    ):
        get_channels((0,), True, str(tmp_path), [])
