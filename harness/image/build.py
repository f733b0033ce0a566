"""Build an image once per content, from :mod:`harness.image.rootfs`, with ``docker import``.

Each recipe (:mod:`harness.image.recipes`: our plugin's image, the nightly harness image) is
tagged ``<repository>:<key>``, where the key hashes every byte and mode that goes in (and the
image settings), so a test run finds it already there and a changed plugin file, library or
interpreter makes a new one. ``:dev`` follows the newest build, for people who run it by hand.
Builds are serialised across processes (pytest-xdist workers, other checkouts on the machine)
by a lock file, so two workers never build the same image twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import io
import json
import os
import py_compile
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from harness.image.recipes import PLUGIN, Recipe
from harness.image.rootfs import Entry, RootfsError, entries

REPOSITORY = PLUGIN.repository
DEV_TAG = "dev"
KEY_LABEL = "io.github.gpu-device-plugin-harness.content"
KEEP_BUILDS = 3  # older content-keyed builds are removed (others on this machine may still use these)
LOCK_PATH = os.path.join(tempfile.gettempdir(), "gpu-device-plugin-image.lock")


def is_ours(reference: str) -> bool:
    """Whether an image reference names our plugin's image (any tag): the harness builds those."""
    name = reference.rsplit("@", 1)[0]
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return repository == REPOSITORY


def _changes(key: str, recipe: Recipe = PLUGIN) -> list[str]:
    """How a container of the image runs (``docker import --change`` lines)."""
    lines = [f"ENV {name}={value}" for name, value in recipe.env]
    lines.append(f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}")
    if recipe.cmd:
        lines.append(f"CMD {json.dumps(list(recipe.cmd))}")
    return [*lines, f"WORKDIR {recipe.workdir}", f"LABEL {KEY_LABEL}={key}"]


def _compiled(entry: Entry, scratch: str) -> Entry | None:
    """A module's bytecode, checked by hash (so file times in the image do not matter)."""
    if not entry.compile:
        return None
    folder, name = os.path.split(entry.path)
    target = f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc"
    out = os.path.join(scratch, "x.pyc")
    try:
        py_compile.compile(
            entry.source,
            cfile=out,
            dfile=entry.path,
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    except py_compile.PyCompileError:
        return None  # a file that is not valid Python here (a template): imported from source, if ever
    with open(out, "rb") as f:
        return Entry(target, "file", data=f.read())


@functools.cache
def contents(recipe: Recipe = PLUGIN) -> tuple[str, tuple[Entry, ...]]:
    """``(key, entries)``: what goes into the image and the hash of all of it (once per process)."""
    items = entries(recipe)
    digest = hashlib.sha256(json.dumps(_changes("", recipe), sort_keys=True).encode())
    for entry in items:
        digest.update(f"{entry.path}\0{entry.kind}\0{entry.mode:o}\0{entry.target}\0".encode())
        if entry.data is not None:
            digest.update(hashlib.sha256(entry.data).digest())
        elif entry.source:
            with open(entry.source, "rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:16], tuple(items)


def _parents(items: tuple[Entry, ...]) -> list[str]:
    links = {e.path for e in items if e.kind == "symlink"}
    have = {e.path for e in items}
    out: set[str] = set()
    for entry in items:
        folder = os.path.dirname(entry.path)
        while folder not in ("/", "") and folder not in have and folder not in links:
            out.add(folder)
            folder = os.path.dirname(folder)
    return sorted(out)


def _tarinfo(path: str, kind: str, mode: int, size: int = 0, mtime: float = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}[kind]
    info.mode, info.size, info.mtime = mode, size, int(mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write_tar(items: tuple[Entry, ...], out: Any) -> None:
    """The image's root filesystem as a tar stream (folders first, then every entry)."""
    with tempfile.TemporaryDirectory() as scratch:
        extra = [c for c in (_compiled(e, scratch) for e in items) if c is not None]
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for folder in _parents((*items, *extra)):
            tar.addfile(_tarinfo(folder, "dir", 0o755))
        for entry in sorted((*items, *extra), key=lambda e: e.path):
            if entry.kind == "symlink":
                info = _tarinfo(entry.path, "symlink", 0o777)
                info.linkname = entry.target
                tar.addfile(info)
            elif entry.kind == "dir":
                tar.addfile(_tarinfo(entry.path, "dir", entry.mode))
            elif entry.data is not None:
                tar.addfile(_tarinfo(entry.path, "file", entry.mode, len(entry.data)), io.BytesIO(entry.data))
            else:
                stat = os.stat(entry.source)
                info = _tarinfo(entry.path, "file", entry.mode, stat.st_size, stat.st_mtime)
                with open(entry.source, "rb") as f:
                    tar.addfile(info, f)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with open(LOCK_PATH, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _present(client: Any, reference: str) -> bool:
    import docker.errors

    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure(client: Any, log: Any = None, recipe: Recipe = PLUGIN) -> str:
    """The reference of the recipe's image (our plugin's by default) for the current content,
    building it if it is missing.

    ``client`` is a ``docker.DockerClient``; ``log(message)`` hears what happens (a build takes
    seconds, and a person should know why the first case waits).
    """
    key, items = contents(recipe)
    repository = recipe.repository
    reference = f"{repository}:{key}"
    if _present(client, reference):
        return reference
    with _locked():
        if _present(client, reference):
            return reference
        started = time.perf_counter()
        if log is not None:
            log(f"building the image {reference} from this machine's Python ({len(items)} files)")
        with tempfile.TemporaryFile() as tar:
            write_tar(items, tar)
            tar.seek(0)
            client.api.import_image_from_data(
                tar, repository=repository, tag=key, changes=_changes(key, recipe)
            )
        client.images.get(reference).tag(repository, DEV_TAG)
        _prune(client, keep=reference, repository=repository)
        if log is not None:
            log(f"built {reference} in {time.perf_counter() - started:.1f}s")
    return reference


def _prune(client: Any, keep: str, repository: str = REPOSITORY) -> None:
    """Remove all but the newest KEEP_BUILDS content-keyed builds; images in use stay."""
    import docker.errors

    images = client.images.list(name=repository, filters={"label": KEY_LABEL})
    images.sort(key=lambda image: image.attrs.get("Created", ""), reverse=True)
    for image in images[KEEP_BUILDS:]:
        if keep in image.tags:
            continue
        for tag in image.tags:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag, noprune=False)


__all__ = ["DEV_TAG", "REPOSITORY", "RootfsError", "contents", "ensure", "is_ours", "write_tar"]
