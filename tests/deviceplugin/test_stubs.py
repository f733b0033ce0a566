"""The committed stubs of every API package are what the pinned generator makes from its api.proto,
and import where we run."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import google.protobuf
import grpc
import pytest

from deviceplugin import _stubs
from deviceplugin.v1beta1 import _generate

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "deviceplugin" / "v1beta1"

# What the GPU machines run (domain facts, section F): the stubs must import there.
GPU_MACHINE_GRPCIO = (1, 84, 0)
GPU_MACHINE_PROTOBUF = (7, 36, 2)


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("api", _stubs.APIS)
@pytest.mark.parametrize("name", _stubs.GENERATED)
def test_committed_stubs_equal_a_fresh_generation(api: str, name: str, tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools comes with the test extra")
    _stubs.generate(api, tmp_path)
    fresh = (tmp_path / name).read_text()
    committed = (ROOT / api / name).read_text()
    assert committed == fresh, f"{api}/{name} is stale: run `python -m deviceplugin._stubs` and commit"


def test_the_v1beta1_generator_is_the_shared_one(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools", reason="grpcio-tools comes with the test extra")
    assert [p.name for p in _generate.generate(tmp_path)] == list(_stubs.GENERATED)


def generated_grpc_version(package: Path = PACKAGE) -> tuple[int, ...]:
    source = (package / "api_pb2_grpc.py").read_text()
    match = re.search(r"GRPC_GENERATED_VERSION = '([\d.]+)'", source)
    assert match, "api_pb2_grpc.py no longer states the grpcio version it needs"
    return version_tuple(match.group(1))


def generated_protobuf_version(package: Path = PACKAGE) -> tuple[int, ...]:
    source = (package / "api_pb2.py").read_text()
    match = re.search(r"Protobuf Python Version: ([\d.]+)", source)
    assert match, "api_pb2.py no longer states its protobuf gencode version"
    return version_tuple(match.group(1))


@pytest.mark.parametrize("api", _stubs.APIS)
def test_stubs_import_under_the_gpu_machines_grpcio_and_protobuf(api: str) -> None:
    assert generated_grpc_version(ROOT / api) <= GPU_MACHINE_GRPCIO
    gencode = generated_protobuf_version(ROOT / api)
    # protobuf's runtime rejects gencode of another major version or newer than itself.
    assert gencode[0] == GPU_MACHINE_PROTOBUF[0]
    assert gencode <= GPU_MACHINE_PROTOBUF


def test_pyproject_pins_a_runtime_range_the_stubs_accept() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {re.split(r"[<>=!~ ]", d, maxsplit=1)[0].lower(): d for d in project["dependencies"]}
    assert version_tuple(deps["grpcio"].split(">=")[1]) == generated_grpc_version()
    protobuf_floor = version_tuple(deps["protobuf"].split(">=")[1])
    assert protobuf_floor == generated_protobuf_version()
    assert f"<{protobuf_floor[0] + 1}" in deps["protobuf"], "protobuf must stay below the next major"
    tools = [d for d in project["optional-dependencies"]["test"] if d.startswith("grpcio-tools")]
    assert tools == [f"grpcio-tools=={_generate.GENERATOR_VERSION}"]


def test_installed_runtime_satisfies_the_stubs() -> None:
    assert version_tuple(grpc.__version__) >= generated_grpc_version()
    runtime = version_tuple(google.protobuf.__version__)
    assert runtime[0] == generated_protobuf_version()[0]
    assert runtime >= generated_protobuf_version()
