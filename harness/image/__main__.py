"""``python -m harness.image build|key``: build our plugin's image, or print its content key."""

from __future__ import annotations

import argparse
import sys

from harness.image.build import contents, ensure
from harness.image.rootfs import RootfsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.image", description=__doc__)
    parser.add_argument("command", choices=("build", "key"))
    args = parser.parse_args(argv)
    try:
        if args.command == "key":
            print(contents()[0])
            return 0
        from harness.engine import access as engine

        reason = engine.engine_support()
        if reason:
            print(f"harness.image: {reason}", file=sys.stderr)
            return 1
        print(ensure(engine.client(), log=lambda message: print(message, file=sys.stderr)))
    except RootfsError as exc:
        print(f"harness.image: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the engine is not running, or refused the import
        print(f"harness.image: cannot build the plugin image: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
