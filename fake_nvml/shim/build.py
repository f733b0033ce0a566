"""Build the shim with the machine's C compiler, once per source version, into a cache.

The cache key hashes the C sources, the generated files (so a different pynvml gives a
different library), the compiler's identity and the flags. Concurrent builders (pytest-xdist
workers) each compile into a private temporary file and rename it into place, which is atomic,
so a reader sees either no library or a whole one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fake_nvml.shim import generate

LIBRARY = "libnvidia-ml.so.1"
HERE = Path(__file__).parent
SOURCES = ("json.c", "transport.c", "handles.c", "call.c", "system.c", "device.c", "mig.c", "events.c")
HEADERS = ("nvml_abi.h", "shim.h")
CFLAGS = ("-std=c11", "-D_GNU_SOURCE", "-O2", "-g", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra")
LDFLAGS = ("-shared", f"-Wl,-soname,{LIBRARY}", "-pthread")


class ShimUnavailable(RuntimeError):
    """The shim cannot be built here; the message (one line) says what is missing."""


def compiler() -> str:
    """The C compiler to use: $CC, else cc, gcc or clang on PATH."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    tried = "$CC=" + candidates[0] if os.environ.get("CC") else "cc, gcc, clang"
    raise ShimUnavailable(
        f"cannot build the NVML shim ({LIBRARY}): no C compiler found (tried {tried}); "
        "install one (e.g. apt-get install gcc) or set CC"
    )


def _identity(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError as exc:
        raise ShimUnavailable(f"cannot run the C compiler {cc}: {exc}") from None
    return (out.stdout.splitlines() or [""])[0]


def cache_root() -> Path:
    """Where built libraries live: $XDG_CACHE_HOME/fake_nvml (~/.cache), else a temp dir."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = Path(base) / "fake_nvml"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except OSError:
        pass
    root = Path(tempfile.gettempdir()) / f"fake_nvml-{os.getuid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def source_key(cc: str) -> str:
    digest = hashlib.sha256()
    for name in (*SOURCES, *HEADERS):
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    for name, text in sorted(generate.files().items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    digest.update("\0".join([_identity(cc), *CFLAGS, *LDFLAGS]).encode())
    return digest.hexdigest()[:20]


def build(out: Path, cc: str) -> str:
    """Compile the library to ``out``; returns the compiler's diagnostics (empty when clean)."""
    with tempfile.TemporaryDirectory(prefix="build-", dir=out.parent.parent) as work:
        for name, text in generate.files().items():
            Path(work, name).write_text(text)
        for name in (*SOURCES, *HEADERS):
            shutil.copyfile(HERE / name, Path(work, name))
        partial = Path(work, LIBRARY)
        command = [cc, *CFLAGS, "-o", str(partial), *SOURCES, "nvml_generated.c", *LDFLAGS]
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            first = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr.strip())
            raise ShimUnavailable(f"the C compiler failed to build the NVML shim: {first[:300]}")
        os.replace(partial, out)  # atomic: a concurrent builder's rename wins or ours does
        return done.stderr


@functools.cache
def library_path() -> str:
    """The path of the built ``libnvidia-ml.so.1`` (built on first use; cached by source hash)."""
    cc = compiler()
    target = cache_root() / source_key(cc) / LIBRARY
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        build(target, cc)
    return str(target)
