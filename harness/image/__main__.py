"""``python -m harness.image build|key [--recipe plugin|harness]``: build an image, or print its key.

``plugin`` (the default) is our plugin's image; ``harness`` the nightly harness image
(``docs/nightly.md``), checked by its own smoke check: ``docker run --rm IMAGE preflight``.
"""

from __future__ import annotations

import argparse
import sys

from harness.image.build import contents, ensure
from harness.image.recipes import RECIPES
from harness.image.rootfs import RootfsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.image", description=__doc__)
    parser.add_argument("command", choices=("build", "key"))
    parser.add_argument(
        "--recipe", choices=tuple(RECIPES), default="plugin", help="which image (default: plugin)"
    )
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]
    try:
        if args.command == "key":
            print(contents(recipe)[0])
            return 0
        from harness.engine import access as engine

        reason = engine.engine_support()
        if reason:
            print(f"harness.image: {reason}", file=sys.stderr)
            return 1
        print(ensure(engine.client(), log=lambda message: print(message, file=sys.stderr), recipe=recipe))
    except RootfsError as exc:
        print(f"harness.image: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the engine is not running, or refused the import
        print(
            f"harness.image: cannot build the {args.recipe} image: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
