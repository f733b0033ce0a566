"""Flags, environment and config file resolve as NVIDIA's do: flag > env > config file > default."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from plugin import ConfigError, load_config
from plugin.errors import HelpRequested


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_defaults_match_nvidias() -> None:
    config = load_config([], {})
    assert config.mig_strategy == "none"
    assert config.fail_on_init_error is True
    assert config.pass_device_specs is False
    assert config.device_list_strategy == ("envvar",)
    assert config.device_id_strategy == "uuid"
    assert config.cdi_annotation_prefix == "cdi.k8s.io/"
    assert config.shared_devices_allocation_policy == "distributed"
    assert config.kubelet_socket == "/var/lib/kubelet/device-plugins/kubelet.sock"
    assert config.plugin_socket_dir == "/var/lib/kubelet/device-plugins"
    assert config.nvml == "real" and config.health_recovery is False


def test_flag_beats_env_which_beats_config_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: v1
        flags:
          migStrategy: mixed
          plugin:
            deviceIDStrategy: index
            passDeviceSpecs: true
            deviceListStrategy: [volume-mounts]
    """,
    )
    config = load_config(
        ["--config-file", path, "--mig-strategy=single"],
        {"DEVICE_ID_STRATEGY": "uuid", "MIG_STRATEGY": "none"},
    )
    assert config.mig_strategy == "single"  # flag over env and file
    assert config.device_id_strategy == "uuid"  # env over file
    assert config.pass_device_specs is True  # file over default
    assert config.device_list_strategy == ("volume-mounts",)
    assert config.sources["mig_strategy"] == "flag --mig-strategy"
    assert config.sources["device_id_strategy"] == "environment variable DEVICE_ID_STRATEGY"
    assert config.sources["pass_device_specs"].endswith("flags.plugin.passDeviceSpecs")


def test_config_file_can_be_named_by_env(tmp_path: Path) -> None:
    path = write(tmp_path, "flags: {migStrategy: mixed}\n")
    assert load_config([], {"CONFIG_FILE": path}).mig_strategy == "mixed"


def test_go_style_flag_spellings_are_accepted() -> None:
    config = load_config(
        [
            "-pass-device-specs",
            "--fail-on-init-error=false",
            "-device-id-strategy",
            "index",
            "--device-list-strategy",
            "envvar",
            "--device-list-strategy=cdi-cri",
            "--nvidia-dev-root",
            "/devroot",
        ],
        {},
    )
    assert config.pass_device_specs is True
    assert config.fail_on_init_error is False
    assert config.device_id_strategy == "index"
    assert config.device_list_strategy == ("envvar", "cdi-cri")
    assert config.dev_root == "/devroot"


def test_list_env_is_comma_separated() -> None:
    config = load_config([], {"DEVICE_LIST_STRATEGY": "envvar, cdi-annotations", "CDI_DISABLE_HOOKS": "a,b"})
    assert config.device_list_strategy == ("envvar", "cdi-annotations")
    assert config.cdi_disable_hooks == ("a", "b")


@pytest.mark.parametrize("ids", ["0,1", "5", "1"])
def test_imex_channel_ids_other_than_none_or_zero_are_rejected_as_nvidia_does(ids: str) -> None:
    with pytest.raises(ConfigError, match=r"channelIDs must be \[\] or \[0\]; found \["):
        load_config([f"--imex-channel-ids={ids}"], {})
    assert load_config(["--imex-channel-ids=0"], {}).imex_channel_ids == (0,)


def test_dev_root_defaults_to_the_driver_root_and_container_driver_root_is_read() -> None:
    config = load_config(["--driver-root=/run/nvidia/driver"], {"CONTAINER_DRIVER_ROOT": "/host-driver"})
    assert config.dev_root == "/run/nvidia/driver"
    assert config.driver_root_ctr_path == "/host-driver"
    assert load_config(["--driver-root=/a", "--dev-root=/b"], {}).dev_root == "/b"


def test_mps_needs_an_mps_root_and_refuses_the_mixed_strategy(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: v1\nsharing:\n  mps:\n    resources: [{name: gpu, replicas: 2}]\n")
    with pytest.raises(ConfigError, match="using MPS requires --mps-root to be specified"):
        load_config([f"--config-file={path}"], {})
    with pytest.raises(ConfigError, match="using --mig-strategy=mixed is not supported with MPS"):
        load_config([f"--config-file={path}", "--mps-root=/m", "--mig-strategy=mixed"], {})
    assert load_config([f"--config-file={path}", "--mps-root=/m"], {}).sharing is not None


def test_socket_dir_defaults_to_the_kubelet_sockets_directory() -> None:
    assert load_config(["--kubelet-socket", "/tmp/k/kubelet.sock"], {}).plugin_socket_dir == "/tmp/k"
    assert (
        load_config(
            ["--kubelet-socket", "/tmp/k/kubelet.sock", "--socket-dir", "/tmp/p"], {}
        ).plugin_socket_dir
        == "/tmp/p"
    )


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--mig-strategy", "half"], {}, "unknown MIG strategy: 'half'"),
        (
            ["--device-list-strategy", "envvar,floppy"],
            {},
            "invalid --device-list-strategy option: invalid strategy: floppy",
        ),
        (["--device-id-strategy", "serial"], {}, "invalid --device-id-strategy option: serial"),
        (
            ["--shared-devices-allocation-policy", "random"],
            {},
            "invalid --shared-devices-allocation-policy option: random",
        ),
        (
            [],
            {"PASS_DEVICE_SPECS": "yes"},
            "invalid boolean value 'yes' for environment variable PASS_DEVICE_SPECS",
        ),
        (["--no-such-flag"], {}, "flag provided but not defined: -no-such-flag"),
        (["--mig-strategy"], {}, "flag needs an argument: --mig-strategy"),
        (["stray"], {}, "unexpected argument 'stray'"),
        (["--nvml", "fake"], {}, "invalid --nvml option: 'fake'"),
        (["--imex-channel-ids", "1,x"], {}, "invalid value 'x' for flag --imex-channel-ids"),
    ],
)
def test_bad_values_give_one_line_naming_the_value(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(argv, env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_value_says_where_it_came_from() -> None:
    with pytest.raises(ConfigError, match=r"\(from environment variable MIG_STRATEGY\)"):
        load_config([], {"MIG_STRATEGY": "bogus"})


def test_config_file_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown version: 'v2'"):
        load_config(["--config-file", write(tmp_path, "version: v2\n")], {})
    with pytest.raises(ConfigError, match=r"flags.plugin.passDeviceSpecs: expected a boolean"):
        load_config(["--config-file", write(tmp_path, "flags: {plugin: {passDeviceSpecs: 3}}\n")], {})
    with pytest.raises(ConfigError, match=r"config.yaml:\d+:\d+: not valid YAML"):
        load_config(["--config-file", write(tmp_path, "flags:\n  - [unclosed\n")], {})
    with pytest.raises(ConfigError, match=r"cannot be read"):
        load_config(["--config-file", str(tmp_path / "missing.yaml")], {})


def test_unknown_config_sections_are_warnings_not_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "version: v1\nflags: {gfd: {oneshot: true}}\nresources: {gpus: []}\nextra: 1\n")
    config = load_config(["--config-file", path], {})
    assert any("'extra'" in w for w in config.warnings)


def test_health_env_is_taken_from_the_given_mapping_not_the_process() -> None:
    config = load_config([], {"DP_DISABLE_HEALTHCHECKS": "48", "DP_ENABLE_HEALTHCHECKS": "13"})
    assert not config.health.is_critical(48)
    assert config.health.is_critical(13)


def test_help_is_not_an_error() -> None:
    with pytest.raises(HelpRequested, match="--mig-strategy"):
        load_config(["--help"], {})


def test_reload_reads_the_file_again_and_keeps_the_tuning_knobs(tmp_path: Path) -> None:
    import dataclasses

    from plugin.config import reload_config

    path = tmp_path / "c.yaml"
    path.write_text("version: v1\nflags: {migStrategy: single}\n")
    config = dataclasses.replace(load_config([f"--config-file={path}"], {}), recovery_probes=7)
    path.write_text("version: v1\nflags: {migStrategy: mixed}\n")
    fresh = reload_config(config)
    assert (config.mig_strategy, fresh.mig_strategy) == ("single", "mixed")
    assert fresh.recovery_probes == 7


def test_reload_of_a_file_that_became_invalid_raises_config_error(tmp_path: Path) -> None:
    from plugin.config import reload_config

    path = tmp_path / "c.yaml"
    path.write_text("version: v1\n")
    config = load_config([f"--config-file={path}"], {})
    path.write_text("version: v2\n")
    with pytest.raises(ConfigError, match="unknown version"):
        reload_config(config)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"gpus": [{"name": "gpu"}]}, "resources must have a 'pattern' field set"),
        ({"gpus": [{"pattern": "*"}]}, "resources must have a 'name' field set"),
        (
            {"mig": [{"pattern": "1g.10gb", "name": "MIG_small"}]},
            "incorrect format for resource name 'nvidia.com/MIG_small'",
        ),
    ],
)
def test_a_malformed_resources_section_is_rejected_as_nvidia_rejects_it(
    tmp_path: Path, resources: dict, message: str
) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"version": "v1", "resources": resources}))
    with pytest.raises(ConfigError, match=message):
        load_config([f"--config-file={path}"], {})


def test_a_resources_rename_pattern_is_ignored_with_nvidias_warning(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: v1\nresources:\n  gpus: [{pattern: '*H100*', name: hopper}]\n")
    config = load_config([f"--config-file={path}"], {})
    assert (
        "Customizing the 'resources' field is not yet supported in the config. Ignoring..." in config.warnings
    )


def test_libnvidia_ml_is_found_under_the_container_driver_root(tmp_path: Path) -> None:
    from plugin.roots import container_dev_root, resolve_library

    lib = tmp_path / "usr/lib/x86_64-linux-gnu/libnvidia-ml.so.580.1"
    lib.parent.mkdir(parents=True)
    lib.touch()
    (lib.parent / "libnvidia-ml.so.1").symlink_to(lib.name)
    assert resolve_library(str(tmp_path)) == str(lib)
    assert resolve_library("/") == "libnvidia-ml.so.1"
    assert container_dev_root(str(tmp_path)) == "/"
    (tmp_path / "dev").mkdir()
    assert container_dev_root(str(tmp_path)) == str(tmp_path)


def test_version_is_printed_like_help() -> None:
    with pytest.raises(HelpRequested, match=r"version 0\.20\.0"):
        load_config(["--version"], {})
