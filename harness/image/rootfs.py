"""What goes into an image (its recipe): this machine's Python, our packages, their libraries.

No image registry is reachable from where the harness runs, so there is no base image to start
``FROM``. The image is assembled instead from what the machine already runs: the interpreter
that runs the harness (binary, ``libpython``, the standard library without its tests and GUI
parts), the installed distributions the plugin imports, our own packages, and every shared
library those ELF files load (found with ``ldd``), at the paths the host's loader uses. The
result is a list of :class:`Entry` (path in the image, where its bytes come from) that
:mod:`harness.image.build` hashes and streams into ``docker import``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.image.recipes import PLUGIN, Recipe

#: Parts of the standard library a device plugin never imports.
STDLIB_SKIP = frozenset(
    {"site-packages", "test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "ensurepip"}
    | {"lib2to3", "pydoc_data"}
)
#: Extension modules of those parts (they would pull in X11 and Tk).
STDLIB_SKIP_MODULES = ("_tkinter.", "_test", "xxlimited")
PREFIX = "/usr/local"
PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"
SITE = f"{PREFIX}/lib/python{PYVER}/site-packages"


class RootfsError(Exception):
    """The image cannot be assembled on this machine; the message says what is missing."""


@dataclass(frozen=True)
class Entry:
    """One file, symlink or folder of the image: ``path`` inside it, ``source`` on this machine."""

    path: str  # absolute, inside the image
    kind: str  # "file", "symlink", "dir"
    source: str = ""  # the host file ("file")
    target: str = ""  # the link's text ("symlink")
    data: bytes | None = None  # generated content ("file" without a source)
    mode: int = 0o644
    compile: bool = False  # a module: its bytecode is compiled into the image (from this source)


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _tree(
    root: Path, dest: str, skip: frozenset[str] = frozenset(), skip_files: tuple[str, ...] = ()
) -> Iterator[Entry]:
    """Every file under ``root`` at ``dest``, without ``skip``'d folders, files or optimised pycs."""
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        # Bytecode is compiled into the image from the sources (build.py), never copied: the
        # host's __pycache__ changes whenever some process imports a module for the first time.
        dirs[:] = sorted(d for d in dirs if d not in skip and d != "__pycache__")
        for name in sorted(files):
            if ".opt-" in name or name.startswith(skip_files):
                continue
            src = os.path.join(folder, name)
            if os.path.islink(src) or not os.path.isfile(src):
                continue
            mode = 0o755 if os.access(src, os.X_OK) else 0o644
            path = os.path.normpath(os.path.join(dest, rel, name))
            yield Entry(path, "file", source=src, mode=mode, compile=name.endswith(".py"))


def _requirement_names(dist: importlib.metadata.Distribution) -> Iterator[str]:
    for requirement in dist.requires or ():
        name, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue  # an optional extra, not what the plugin runs with
        match = re.match(r"\s*([A-Za-z0-9._-]+)", name)
        if match:
            yield match.group(1)


def distributions(names: Iterable[str] = PLUGIN.distributions) -> list[importlib.metadata.Distribution]:
    """The named distributions and what they require, as installed for this interpreter."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise RootfsError(f"the image needs the Python package {name!r}; it is not installed") from None
        seen[key] = dist
        todo.extend(_requirement_names(dist))
    return [seen[k] for k in sorted(seen)]


def _dist_entries(dist: importlib.metadata.Distribution) -> Iterator[Entry]:
    for file in dist.files or ():
        src = Path(str(file.locate()))
        rel = file.as_posix() if hasattr(file, "as_posix") else str(file)
        if rel.startswith("..") or "__pycache__/" in rel or not src.is_file():
            continue  # scripts in bin/, files outside site-packages, bytecode (compiled afresh)
        mode = 0o755 if os.access(src, os.X_OK) else 0o644
        yield Entry(f"{SITE}/{rel}", "file", source=str(src), mode=mode, compile=rel.endswith(".py"))


def _package_entries(name: str, suffixes: tuple[str, ...] = PLUGIN.package_data) -> Iterator[Entry]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RootfsError(f"the image needs our package {name!r}; it is not importable")
    root = Path(next(iter(spec.submodule_search_locations)))
    for entry in _tree(root, f"{SITE}/{name}"):
        if "/__pycache__/" in entry.path or not entry.path.endswith(suffixes):
            continue  # bytecode is compiled afresh into the image (see build.py)
        yield Entry(entry.path, "file", source=entry.source, compile=entry.path.endswith(".py"))


def interpreter() -> tuple[Path, Path]:
    """The real interpreter binary behind ``sys.executable`` (a venv's link resolved) and its stdlib."""
    binary = Path(os.path.realpath(sys.executable))
    stdlib = Path(
        sysconfig.get_path("stdlib", vars={"installed_base": sys.base_prefix, "base": sys.base_prefix})
    )
    if not (stdlib / "os.py").is_file():
        raise RootfsError(f"cannot find the standard library of {binary} (looked in {stdlib})")
    return binary, stdlib


def _ldd(paths: list[str]) -> set[str]:
    """The shared libraries (absolute host paths) the ELF files load, the loader included."""
    ldd = shutil.which("ldd")
    if ldd is None:
        raise RootfsError("assembling the plugin's image needs 'ldd' (glibc's libc-bin) to find libraries")
    libs: set[str] = set()
    for start in range(0, len(paths), 200):
        out = subprocess.run([ldd, *paths[start : start + 200]], capture_output=True, text=True, check=False)
        for line in out.stdout.splitlines():
            match = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
            if match:
                libs.add(match.group(1))
            elif "not found" in line:
                raise RootfsError(
                    f"a library of the plugin's image is missing on this machine: {line.strip()}"
                )
    return libs


def _host_path(path: str) -> Iterator[Entry]:
    """``path`` as the host has it: each symlink on the way (``/lib64 -> usr/lib64``), then the file."""
    parts = Path(path).parts
    current = "/"
    for index, part in enumerate(parts[1:], start=1):
        current = os.path.join(current, part)
        if os.path.islink(current):
            target = os.readlink(current)
            yield Entry(current, "symlink", target=target)
            resolved = os.path.normpath(os.path.join(os.path.dirname(current), target))
            yield from _host_path(os.path.join(resolved, *parts[index + 1 :]))
            return
    yield Entry(current, "file", source=current, mode=0o755)


def checkout() -> Path:
    """The checkout our packages come from (its ``scenarios/`` goes into the harness image)."""
    spec = importlib.util.find_spec("harness")
    if spec is None or spec.origin is None:
        raise RootfsError("cannot find the harness package")
    return Path(spec.origin).resolve().parents[1]


def _recipe_entries(recipe: Recipe) -> Iterator[Entry]:
    """The recipe's folders of the checkout, its empty folders, and this machine's files it names."""
    root = checkout()
    for folder, dest in recipe.trees:
        if not (root / folder).is_dir():
            raise RootfsError(f"the image needs {root / folder}; build it from a checkout of the project")
        yield from _tree(root / folder, dest)
    for folder in recipe.folders:
        yield Entry(folder, "dir", mode=0o777)
    for host in recipe.host_files:
        path = Path(host)
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                yield Entry(str(file), "file", source=str(file))


def entries(recipe: Recipe = PLUGIN) -> list[Entry]:
    """Everything in the image, sorted by path, each path once (the first source wins)."""
    binary, stdlib = interpreter()
    python = f"{PREFIX}/bin/python{PYVER}"
    out: list[Entry] = [
        Entry(python, "file", source=str(binary), mode=0o755),
        Entry(f"{PREFIX}/bin/python3", "symlink", target=f"python{PYVER}"),
        Entry(f"{PREFIX}/bin/python", "symlink", target=f"python{PYVER}"),
    ]
    skip = STDLIB_SKIP | {f"config-{PYVER}-{getattr(sys.implementation, '_multiarch', '')}"}
    out += _tree(stdlib, f"{PREFIX}/lib/python{PYVER}", skip, STDLIB_SKIP_MODULES)
    for dist in distributions(recipe.distributions):
        out += _dist_entries(dist)
    for name in recipe.packages:
        out += _package_entries(name, recipe.package_data)
    out += _recipe_entries(recipe)
    elves = sorted({e.source for e in out if e.kind == "file" and e.source and _is_elf(e.source)})
    libs = _ldd(elves)
    libc_dir = next(
        (os.path.dirname(os.path.realpath(p)) for p in libs if os.path.basename(p) == "libc.so.6"), ""
    )
    if not libc_dir:
        raise RootfsError(f"cannot find the C library that {binary} loads")
    for lib in sorted(libs):
        if lib.startswith(str(Path(binary).parent.parent)):  # libpython of a non-system Python
            out.append(
                Entry(f"{libc_dir}/{os.path.basename(lib)}", "file", source=os.path.realpath(lib), mode=0o755)
            )
        else:
            out += _host_path(lib)
    out += _skeleton()
    unique: dict[str, Entry] = {}
    for entry in out:
        unique.setdefault(entry.path, entry)
    return [unique[p] for p in sorted(unique)]


def _skeleton() -> list[Entry]:
    """The folders and files any process expects: /tmp, /etc/passwd, the mount points."""
    return [
        Entry("/tmp", "dir", mode=0o1777),
        Entry("/etc/passwd", "file", data=b"root:x:0:0:root:/root:/sbin/nologin\n"),
        Entry("/etc/group", "file", data=b"root:x:0:\n"),
        Entry("/root", "dir", mode=0o700),
        Entry("/var/lib/kubelet/device-plugins", "dir", mode=0o755),
    ]
