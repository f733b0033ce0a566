"""Regenerate the committed gRPC stubs of every kubelet API here from its api.proto.

Run ``python -m deviceplugin._stubs`` after editing an ``api.proto``. The generator is
pinned (grpcio-tools 1.84.0, bundling protoc for protobuf 7.35) because its output must
import under grpcio >= 1.84.0 and protobuf 7.x, the versions on our GPU machines;
tests/deviceplugin/test_stubs.py fails when a committed file differs from a fresh generation.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Each API package: the folder (relative to the repository) holding api.proto and its stubs.
APIS = ("deviceplugin/v1beta1", "deviceplugin/podresources/v1", "deviceplugin/pluginregistration/v1")
GENERATED = ("api_pb2.py", "api_pb2.pyi", "api_pb2_grpc.py")
GENERATOR_VERSION = "1.84.0"


def generate(api: str, out_dir: Path) -> list[Path]:
    """Write fresh stubs for ``<api>/api.proto`` into ``out_dir`` and return their paths."""
    try:
        from grpc_tools import grpc_version, protoc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "grpcio-tools is not installed; install the test extra: pip install -e '.[test]'"
        ) from exc
    if grpc_version.VERSION != GENERATOR_VERSION:
        raise SystemExit(
            f"grpcio-tools {grpc_version.VERSION} is installed but the stubs are generated with "
            f"{GENERATOR_VERSION}; run: pip install grpcio-tools=={GENERATOR_VERSION}"
        )
    proto = f"{api}/api.proto"
    with tempfile.TemporaryDirectory() as tmp:
        include = Path(protoc.__file__).parent / "_proto"
        rc = protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{REPO_ROOT}",
                f"-I{include}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(REPO_ROOT / proto),
            ]
        )
        if rc != 0:
            raise SystemExit(f"protoc failed with exit code {rc} on {proto}")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in GENERATED:
            target = out_dir / name
            shutil.copyfile(Path(tmp) / api / name, target)
            written.append(target)
        return written


def main() -> int:
    for api in APIS:
        for path in generate(api, REPO_ROOT / api):
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
