"""``python -m fake_nvml.shim``: build the shim (if needed) and print its path.

``--generate DIR`` writes the generated C files there instead, to read them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fake_nvml.shim import ShimUnavailable, generate, library_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fake_nvml.shim", description=__doc__)
    parser.add_argument("--generate", metavar="DIR", help="write the generated C files into DIR")
    args = parser.parse_args(argv)
    if args.generate:
        out = Path(args.generate)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in generate.files().items():
            (out / name).write_text(text)
            print(out / name)
        return 0
    try:
        print(library_path())
    except ShimUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
