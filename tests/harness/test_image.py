"""Our plugin's image: assembled from this machine's Python, built once per content, runs the plugin."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from harness.image import build, rootfs


@pytest.fixture(scope="module")
def items() -> tuple[rootfs.Entry, ...]:
    return build.contents()[1]


def paths(items: tuple[rootfs.Entry, ...]) -> set[str]:
    return {e.path for e in items}


def test_the_image_holds_the_interpreter_our_packages_and_what_they_import(items):
    have = paths(items)
    site = rootfs.SITE
    assert f"/usr/local/bin/python{rootfs.PYVER}" in have
    assert f"{site}/plugin/__main__.py" in have
    assert f"{site}/fake_nvml/client.py" in have
    assert any(p.startswith(f"{site}/grpc/_cython/cygrpc") for p in have)
    assert f"{site}/pynvml.py" in have
    assert f"/usr/local/lib/python{rootfs.PYVER}/os.py" in have


def test_the_image_leaves_out_tests_gui_and_the_harness(items):
    have = paths(items)
    std = f"/usr/local/lib/python{rootfs.PYVER}"
    assert not any(p.startswith((f"{std}/test/", f"{std}/tkinter/", f"{std}/unittest/test/")) for p in have)
    assert not any("/harness/" in p or "/fake_kubelet/" in p for p in have)
    assert not any(".opt-" in p or "/__pycache__/" in p for p in have)  # compiled from sources instead


def test_every_library_an_elf_file_loads_is_in_the_image(items):
    elves = [e.source for e in items if e.kind == "file" and e.source and rootfs._is_elf(e.source)]
    have = paths(items)
    for lib in rootfs._ldd(elves):
        name = os.path.basename(lib)
        assert any(p.endswith("/" + name) for p in have), f"{lib} is loaded but not in the image"


def test_the_content_key_changes_when_a_file_going_in_changes(tmp_path, monkeypatch):
    module = tmp_path / "mod.py"
    module.write_text("x = 1\n")
    entry = rootfs.Entry(f"{rootfs.SITE}/plugin/mod.py", "file", source=str(module), compile=True)
    monkeypatch.setattr(build, "entries", lambda recipe=None: [entry])
    build.contents.cache_clear()
    try:
        before = build.contents()[0]
        build.contents.cache_clear()
        assert build.contents()[0] == before  # the same content, the same key
        module.write_text("x = 2\n")
        build.contents.cache_clear()
        assert build.contents()[0] != before
    finally:
        build.contents.cache_clear()


def test_the_tar_has_each_folder_before_its_files_and_nothing_under_a_symlink(items):
    out = io.BytesIO()
    build.write_tar(items, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    links = {m.name for m in members if m.issym()}
    assert not [n for n in names if any(n.startswith(link + "/") for link in links)]
    seen: set[str] = set()
    for member in members:
        parent = os.path.dirname(member.name)
        assert parent == "" or parent in seen or parent in links, f"{member.name} comes before {parent}"
        seen.add(member.name)
    assert (
        "usr/local/lib/python{}/site-packages/plugin/__pycache__/__main__.{}.pyc".format(
            rootfs.PYVER, __import__("sys").implementation.cache_tag
        )
        in names
    )
    assert all(m.uid == 0 and m.gid == 0 for m in members)


def test_a_second_ensure_finds_the_image_and_builds_nothing(docker_engine, monkeypatch):
    reference = build.ensure(docker_engine)
    assert reference.startswith(f"{build.REPOSITORY}:")

    def refuse(*args, **kwargs):
        raise AssertionError("ensure() rebuilt an image whose content had not changed")

    monkeypatch.setattr(docker_engine.api, "import_image_from_data", refuse)
    assert build.ensure(docker_engine) == reference
    image = docker_engine.images.get(reference)
    assert image.labels[build.KEY_LABEL] == build.contents()[0]


def test_the_image_runs_our_plugin_as_its_entrypoint(docker_engine):
    reference = build.ensure(docker_engine)
    out = docker_engine.containers.run(
        reference, ["--help"], remove=True, network_mode="none", cap_drop=["ALL"], stderr=True
    )
    assert b"usage: gpu-device-plugin" in out


def test_is_ours_names_our_repository_with_any_tag():
    assert build.is_ours("localhost/gpu-device-plugin:dev")
    assert build.is_ours("localhost/gpu-device-plugin")
    assert not build.is_ours("nvcr.io/nvidia/k8s-device-plugin:v0.20.0")
    assert not build.is_ours("localhost:5000/gpu-device-plugin:dev")
