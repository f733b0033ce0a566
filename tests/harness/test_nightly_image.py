"""The nightly harness image, assembled as our plugin's is, carries what a run needs: its smoke
check passes inside it, and a nightly run inside it on a mounted libnvidia-ml.so.1 (the NVML shim,
as NVIDIA's runtime mounts the driver's) tests the library and leaves its results on the volume."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_nvml import FakeNVML
from harness.engine import access as engine
from harness.image import build
from harness.image.recipes import HARNESS


@pytest.fixture
def image(docker_engine: Any) -> str:
    return build.ensure(docker_engine, recipe=HARNESS)  # built once per content, found after


def run(client: Any, image: str, args: list[str], **kwargs: Any) -> tuple[int, str]:
    """Run the image to its end (no network, as on a locked-down node); its exit status and output."""
    container = client.containers.run(
        image, args, detach=True, network_mode="none", labels={engine.SESSION_LABEL: engine.SESSION}, **kwargs
    )
    try:
        status = container.wait(timeout=600)["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


def test_the_images_smoke_check_passes_inside_it_and_fails_without_nvml(docker_engine, image) -> None:
    code, out = run(docker_engine, image, ["preflight", "--skip-without-nvml"])
    assert code == 0, out
    assert "ok    scenario library" in out and "ok    wire stubs" in out and "note  nvml" in out
    code, out = run(docker_engine, image, ["preflight"])
    assert code == 1 and "FAIL  nvml" in out and "runtimeClassName: nvidia" in out


@pytest.fixture
def served_node(sockdir: str) -> Iterator[dict[str, str]]:
    from fake_nvml import shim

    try:
        library = os.path.dirname(shim.library_path())
    except shim.ShimUnavailable as exc:
        if engine.required():
            raise
        pytest.skip(str(exc))
    node = FakeNVML.from_spec("2xH100")
    socket = os.path.join(sockdir, "nvml.sock")
    with node.serve(socket):
        yield {"library": library, "socket": socket, "dir": sockdir}
    node.close()


def test_a_nightly_run_inside_the_image_tests_the_library_on_the_nodes_nvml(
    docker_engine, image, served_node, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    code, out = run(
        docker_engine,
        image,
        ["run", "-k", "health and xid-fatal"],
        environment={
            "LD_LIBRARY_PATH": "/opt/nvml",
            "FAKE_NVML_SOCKET": served_node["socket"],
            "NODE_NAME": "n1",
        },
        volumes={
            served_node["library"]: {"bind": "/opt/nvml", "mode": "ro"},
            served_node["dir"]: {"bind": served_node["dir"], "mode": "rw"},
            str(results): {"bind": "/results", "mode": "rw"},
        },
    )
    assert code == 0, out
    assert "ok    nvml               driver" in out and "2 GPU(s)" in out
    summary = json.loads((results / "n1" / "latest" / "nightly.json").read_text())
    assert summary["exit"] == 0 and summary["counts"]["passed"] >= 9
    assert (results / "n1" / "latest" / "node-profile.yaml").is_file()
