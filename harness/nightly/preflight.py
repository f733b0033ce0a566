"""The smoke check of a nightly environment: does it carry what a run on this node needs?

Run inside the harness image (``docker run --rm IMAGE preflight``), at the start of every
nightly run, or by hand on a GPU machine. Each check is one line; a required check that fails
makes the run stop before its first case, with the line saying what is missing. NVML is
required unless ``--skip-without-nvml``: a pod that did not get NVIDIA's runtime must fail
loudly, not pass by skipping every case.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Our packages, then the libraries a run imports (distribution, module).
PACKAGES = ("harness", "plugin", "deviceplugin", "fake_nvml", "fake_kubelet", "simkit")
LIBRARIES = (
    ("grpcio", "grpc"),
    ("protobuf", "google.protobuf"),
    ("PyYAML", "yaml"),
    ("Jinja2", "jinja2"),
    ("inotify_simple", "inotify_simple"),
    ("nvidia-ml-py", "pynvml"),
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True

    def line(self) -> str:
        mark = "ok  " if self.ok else ("FAIL" if self.required else "note")
        return f"{mark}  {self.name:<18} {self.detail}"


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check(
        "python", ok, f"{sys.version.split()[0]} at {sys.executable}" + ("" if ok else "; needs 3.11+")
    )


def _packages() -> Check:
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            missing.append(f"{name} ({exc})")
    return Check(
        "our packages", not missing, "missing: " + ", ".join(missing) if missing else ", ".join(PACKAGES)
    )


def _libraries() -> Check:
    found, missing = [], []
    for dist, module in LIBRARIES:
        try:
            importlib.import_module(module)
            found.append(f"{dist} {importlib.metadata.version(dist)}")
        except (ImportError, importlib.metadata.PackageNotFoundError) as exc:
            missing.append(f"{dist} ({type(exc).__name__}: {exc})")
    return Check("libraries", not missing, "missing: " + "; ".join(missing) if missing else ", ".join(found))


def _stubs() -> Check:
    """The committed gRPC stubs import with this grpcio and protobuf (a too-old grpcio fails here)."""
    try:
        importlib.import_module("deviceplugin.v1beta1.api_pb2_grpc")
    except Exception as exc:
        return Check(
            "wire stubs", False, f"deviceplugin.v1beta1 does not import: {type(exc).__name__}: {exc}"
        )
    return Check("wire stubs", True, "deviceplugin.v1beta1 imports")


def _library(scenarios: Path) -> Check:
    from harness.collect import load_all

    if not scenarios.is_dir():
        return Check("scenario library", False, f"{scenarios} is not a folder")
    loaded = load_all([scenarios])
    if loaded.errors:
        return Check(
            "scenario library", False, f"{len(loaded.errors)} files do not load; first: {loaded.errors[0]}"
        )
    files = len({s.path for s in loaded.scenarios})
    return Check(
        "scenario library",
        bool(loaded.scenarios),
        f"{files} files, {len(loaded.scenarios)} cases in {scenarios}",
    )


def _profiles() -> Check:
    from harness.errors import ScenarioError
    from harness.profiles import load_profile
    from harness.profiles.model import shipped

    names = shipped()
    for name in names:
        try:
            load_profile(name)
        except ScenarioError as exc:
            return Check("plugin profiles", False, f"{name}: {exc}")
    return Check("plugin profiles", bool(names), ", ".join(names))


def nvml_check(required: bool = True) -> Check:
    """NVML answers: driver, GPU count and products (or why not)."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception as exc:
        why = f"no usable NVML: {type(exc).__name__}: {exc}"
        if required:
            why += (
                "; in a pod, NVIDIA's runtime must mount it (runtimeClassName: nvidia, docs/nightly.md); "
                "--skip-without-nvml allows this"
            )
        return Check("nvml", False, why, required)
    try:
        count = pynvml.nvmlDeviceGetCount()
        names = sorted(
            {_text(pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i))) for i in range(count)}
        )
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
    except Exception as exc:
        return Check(
            "nvml", False, f"NVML initialised but does not answer: {type(exc).__name__}: {exc}", required
        )
    finally:
        with contextlib.suppress(Exception):  # shutting down what may have answered nothing
            pynvml.nvmlShutdown()
    return Check(
        "nvml", count > 0, f"driver {driver}, {count} GPU(s): {', '.join(names) or 'none'}", required
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _results(folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".preflight-"):
            pass
    except OSError as exc:
        return Check("results folder", False, f"{folder} is not writable: {exc}")
    return Check("results folder", True, f"{folder} is writable")


def _shim() -> Check:
    """The NVML shim is built with a C compiler; a run on real NVML never needs it."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    detail = (
        f"C compiler {cc}"
        if cc
        else "no C compiler (only simulated nodes served to plugin processes need one)"
    )
    return Check("nvml shim", True, detail + "; not needed for --nvml real", required=False)


def run_checks(scenarios: Path, results: Path | None, nvml_required: bool = True) -> list[Check]:
    """Every check, in order; later ones that depend on a failed import are still tried and say so."""
    steps: list[Callable[[], Check]] = [_python, _packages, _libraries, _stubs]
    steps += [lambda: _library(scenarios), _profiles, lambda: nvml_check(nvml_required)]
    if results is not None:
        steps.append(lambda: _results(results))
    steps.append(_shim)
    out = []
    for step in steps:
        try:
            out.append(step())
        except Exception as exc:  # a check that cannot even run is a failed check, said in one line
            out.append(
                Check(getattr(step, "__name__", "check").strip("_<>"), False, f"{type(exc).__name__}: {exc}")
            )
    return out


def passed(checks: list[Check]) -> bool:
    return all(c.ok or not c.required for c in checks)
