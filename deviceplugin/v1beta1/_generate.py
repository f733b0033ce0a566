"""Regenerate the committed v1beta1 stubs from api.proto (``python -m deviceplugin._stubs``
regenerates every API package; this module keeps the v1beta1 entry point)."""

from __future__ import annotations

import sys
from pathlib import Path

from deviceplugin import _stubs

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = _stubs.REPO_ROOT
API = "deviceplugin/v1beta1"
PROTO = f"{API}/api.proto"
GENERATED = _stubs.GENERATED
GENERATOR_VERSION = _stubs.GENERATOR_VERSION


def generate(out_dir: Path) -> list[Path]:
    """Write fresh stubs for api.proto into ``out_dir`` and return their paths."""
    return _stubs.generate(API, out_dir)


def main() -> int:
    for path in generate(PACKAGE_DIR):
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
