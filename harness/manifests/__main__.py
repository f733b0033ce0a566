"""``python -m harness.manifests explain FILE``: how the harness reads a manifest, field by field.

For a workload with a plugin container (DaemonSet, Deployment, Pod...): the container the harness
would run (image, command, args, env, security options, where the device-plugins dir goes) and
where its pod may run. Then every field it does not honour, with its line and why. Exit status
0, or 2 for a manifest it cannot read (the error names the file and line).
"""

from __future__ import annotations

import argparse
import sys

from harness.errors import ScenarioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.manifests", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("explain",))
    parser.add_argument("file")
    args = parser.parse_args(argv)
    from harness.manifests.plugin import plugin_container

    try:
        read = plugin_container(args.file)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    made = read.container
    print(f"{read.kind} {read.pod}: container {read.container_name}")
    rows = [
        ("image", made.image),
        ("command", made.command if made.command is not None else "(the image's entrypoint)"),
        ("args", made.args if made.args is not None else "(the image's command)"),
        ("env", made.env or "{}"),
        ("device-plugins dir", f"the scenario's socket dir, at {made.plugin_dir}"),
        ("no-new-privileges", made.no_new_privileges),
        ("capabilities", f"drop {made.cap_drop or '[]'}, add {made.cap_add or '[]'}"),
        ("privileged", made.privileged),
        ("seccomp", made.seccomp),
        ("user", made.user or "(the image's)"),
        ("stop grace", f"{read.grace_s:g}s"),
        ("tolerations", ", ".join(f"{t.key or '*'}:{t.effect or '*'}" for t in read.placement.tolerations)),
    ]
    for name, value in rows:
        print(f"  {name:<20} {value}")
    print(f"not honoured ({len(read.notes)}):" if read.notes else "every field is honoured")
    for note in read.notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
